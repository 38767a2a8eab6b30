//! The one small interface every inference backend implements: what it learnt at start,
//! and running one preprocessed input tensor, whose answer comes on a [`Ticket`] (at once
//! for a backend that runs in the caller's thread, later for one that works elsewhere).
//!
//! The element prepares the tensor (`crate::preprocess`) and decodes the output
//! (`crate::yolo`) itself, the same way for every backend, so the same model gives the
//! same detections wherever it runs.

use std::sync::mpsc;
use std::time::Duration;

/// One output tensor: its shape and its values.
#[derive(Debug, Clone, Default)]
pub(super) struct Output {
    pub(super) shape: Vec<i64>,
    pub(super) data: Vec<f32>,
}

/// The answer to one input and how long it took; a failure is described for a message.
pub(super) type Reply = (Result<Output, String>, Duration);

/// Where the answer to one submitted input will be.
pub(super) struct Ticket {
    reply: Option<Reply>,
    rx: Option<mpsc::Receiver<Reply>>,
}

impl Ticket {
    /// An answer that is already there.
    pub(super) fn ready(reply: Reply) -> Self {
        Ticket {
            reply: Some(reply),
            rx: None,
        }
    }

    /// An answer that will come on `rx`; if its sender goes away without answering, the
    /// request counts as failed.
    pub(super) fn waiting(rx: mpsc::Receiver<Reply>) -> Self {
        Ticket {
            reply: None,
            rx: Some(rx),
        }
    }

    fn abandoned() -> Reply {
        (Err("the request was abandoned".into()), Duration::ZERO)
    }

    /// Takes the answer if it has come (never blocks); returns whether it is there.
    pub(super) fn poll(&mut self) -> bool {
        if self.reply.is_none() {
            if let Some(rx) = self.rx.as_ref() {
                match rx.try_recv() {
                    Ok(r) => self.reply = Some(r),
                    Err(mpsc::TryRecvError::Empty) => {}
                    Err(mpsc::TryRecvError::Disconnected) => self.reply = Some(Self::abandoned()),
                }
            }
        }
        self.reply.is_some()
    }

    /// Waits at most `timeout` for the answer; returns whether it is there.
    pub(super) fn wait(&mut self, timeout: Duration) -> bool {
        if self.reply.is_none() {
            if let Some(rx) = self.rx.as_ref() {
                match rx.recv_timeout(timeout) {
                    Ok(r) => self.reply = Some(r),
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        self.reply = Some(Self::abandoned())
                    }
                }
            }
        }
        self.reply.is_some()
    }

    pub(super) fn is_ready(&self) -> bool {
        self.reply.is_some()
    }

    /// The answer; a ticket taken before its answer came counts as failed.
    pub(super) fn take(self) -> Reply {
        self.reply.unwrap_or_else(Self::abandoned)
    }
}

/// What a backend learnt at start.
pub(super) struct Info {
    /// For the frame marker: the model file's stem or the server's model name.
    pub(super) model: String,
    /// For messages: `'models/x.onnx'` or `'shapes' on grpc://...`.
    pub(super) name: String,
    /// Every input and output, for error messages.
    pub(super) signature: String,
    pub(super) input_width: usize,
    pub(super) input_height: usize,
    /// Dynamic dimensions resolved by a first inference.
    pub(super) output_shape: Vec<i64>,
    /// The Ultralytics `names` metadata, unparsed, when the backend can read it.
    pub(super) names_metadata: Option<String>,
    /// Duration of one inference measured at start.
    pub(super) warm_up: Duration,
    /// Images one [`Engine::submit`] may hold at most (1: a static batch axis).
    pub(super) max_batch: usize,
}

/// A backend: ONNX Runtime in this process, or a KServe v2 server.
pub(super) trait Engine: Send {
    /// Runs (or sends) one `[N, 3, H, W]` input tensor of the size given in [`Info`], `N`
    /// images one after the other (1 to [`Info::max_batch`]); the answer's first dimension
    /// is `N`.
    fn submit(&mut self, tensor: &[f32]) -> Ticket;

    /// Whether answers come later, so frames wait for them in the element's window of
    /// frames in flight (and leave in order), instead of at once in `submit`.
    fn pipelined(&self) -> bool;

    /// Inputs the backend works on at once (its threads or a server's parallelism): a
    /// frame waits about `in-flight / concurrency` inferences in the window.
    fn concurrency(&self) -> usize {
        1
    }

    /// `max-in-flight=0`: frames in flight when the user did not choose.
    fn default_in_flight(&self) -> usize {
        2
    }

    /// Whether a failed answer means the backend is away for a while (frames pass without
    /// detections and a probe checks it: a server), rather than a stream error (a model
    /// that fails here fails again).
    fn outages(&self) -> bool {
        false
    }

    /// Stops the backend (abandoning what is in flight, bounded in time); returns a line
    /// for the log.
    fn stop(&mut self) -> Option<String>;
}
