//! Inference threads for a backend that runs in this process: the streaming thread hands a
//! copy of the input tensor over and goes on (decoding, drawing and encoding the frames
//! around it) while a worker runs the model; the answer comes on the job's ticket. Several
//! workers let a runtime with parallel requests (OpenVINO's throughput mode) work on several
//! frames at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::engine::{Engine, Output, Reply, Ticket};

/// Runs the model on one input tensor.
pub(super) type RunFn = dyn Fn(&[f32]) -> Result<Output, String> + Send + Sync;

struct Job {
    input: Vec<f32>,
    reply: mpsc::Sender<Reply>,
}

/// Input buffers handed back by the workers, so that steady state allocates nothing.
type Spare = Arc<Mutex<Vec<Vec<f32>>>>;

pub(super) struct Workers {
    tx: Option<mpsc::Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
    stopping: Arc<AtomicBool>,
    spare: Spare,
}

impl Workers {
    /// Starts `count` threads named `name` running `run`.
    pub(super) fn spawn(count: usize, name: &str, run: Arc<RunFn>) -> std::io::Result<Workers> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let stopping = Arc::new(AtomicBool::new(false));
        let spare: Spare = Arc::default();
        let mut threads = Vec::new();
        for i in 0..count.max(1) {
            let (rx, run, stop_flag, spares) =
                (rx.clone(), run.clone(), stopping.clone(), spare.clone());
            let thread_name = if count > 1 {
                format!("{name}-{i}")
            } else {
                name.to_string()
            };
            let spawned = std::thread::Builder::new()
                .name(thread_name)
                .spawn(move || work(&rx, &*run, &stop_flag, &spares));
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => {
                    let mut partial = Workers {
                        tx: Some(tx),
                        threads,
                        stopping,
                        spare,
                    };
                    partial.stop();
                    return Err(e);
                }
            }
        }
        Ok(Workers {
            tx: Some(tx),
            threads,
            stopping,
            spare,
        })
    }

    /// Queues one inference on a copy of `tensor`.
    pub(super) fn submit(&self, tensor: &[f32]) -> Ticket {
        let mut input = self
            .spare
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default();
        input.clear();
        input.extend_from_slice(tensor);
        let (reply, rx) = mpsc::channel();
        match self.tx.as_ref().map(|tx| tx.send(Job { input, reply })) {
            Some(Ok(())) => Ticket::waiting(rx),
            _ => Ticket::ready((
                Err("the inference threads have stopped".into()),
                Duration::ZERO,
            )),
        }
    }

    /// Abandons queued jobs and joins the threads (each finishes the inference it is in).
    pub(super) fn stop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.tx = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A backend in this process (ONNX Runtime, OpenVINO): `threads` inference threads, or
/// inference in the streaming thread with `max-in-flight=1` at start.
pub(super) struct LocalEngine {
    run: Arc<RunFn>,
    workers: Option<Workers>,
    threads: usize,
}

impl LocalEngine {
    pub(super) fn start(
        run: Arc<RunFn>,
        threads: usize,
        name: &str,
        max_in_flight: u32,
    ) -> Result<LocalEngine, gst::ErrorMessage> {
        let workers = if max_in_flight == 1 {
            None
        } else {
            let w = Workers::spawn(threads, name, run.clone()).map_err(|e| {
                gst::error_msg!(
                    gst::LibraryError::Init,
                    ("Cannot start the inference threads: {}", e)
                )
            })?;
            Some(w)
        };
        Ok(LocalEngine {
            run,
            workers,
            threads: threads.max(1),
        })
    }
}

impl Engine for LocalEngine {
    fn submit(&mut self, tensor: &[f32]) -> Ticket {
        match self.workers.as_ref() {
            Some(workers) => workers.submit(tensor),
            None => {
                let started = Instant::now();
                Ticket::ready(((self.run)(tensor), started.elapsed()))
            }
        }
    }

    fn pipelined(&self) -> bool {
        self.workers.is_some()
    }

    fn concurrency(&self) -> usize {
        self.threads
    }

    /// One more than the inferences running, so the next frame is ready when one ends.
    fn default_in_flight(&self) -> usize {
        self.threads + 1
    }

    fn stop(&mut self) -> Option<String> {
        self.workers.take().map(|mut w| {
            w.stop();
            format!("{} inference threads stopped", self.threads)
        })
    }
}

fn work(rx: &Mutex<mpsc::Receiver<Job>>, run: &RunFn, stopping: &AtomicBool, spare: &Spare) {
    loop {
        let job = match rx.lock().unwrap_or_else(|e| e.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        if stopping.load(Ordering::SeqCst) {
            // Dropping the job's sender tells its ticket it was abandoned.
            continue;
        }
        let started = Instant::now();
        let out = run(&job.input);
        let _ = job.reply.send((out, started.elapsed()));
        spare
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(job.input);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum_engine(delay: Duration) -> Arc<RunFn> {
        Arc::new(move |input: &[f32]| {
            std::thread::sleep(delay);
            Ok(Output {
                shape: vec![1],
                data: vec![input.iter().sum()],
            })
        })
    }

    #[test]
    fn answers_come_for_every_job_with_its_own_input() {
        let run = sum_engine(Duration::from_millis(5));
        let workers = Workers::spawn(2, "test-worker", run).unwrap();
        let tickets: Vec<Ticket> = (0..10).map(|i| workers.submit(&[i as f32, 1.0])).collect();
        for (i, mut t) in tickets.into_iter().enumerate() {
            assert!(t.wait(Duration::from_secs(5)));
            assert_eq!(t.take().0.unwrap().data, vec![i as f32 + 1.0]);
        }
    }

    #[test]
    fn two_workers_run_two_jobs_at_once() {
        // Each job waits (at most 5 s) until two jobs are running: with one worker at a
        // time the first would give up and answer 0.
        let running = Arc::new((Mutex::new(0usize), std::sync::Condvar::new()));
        let run: Arc<RunFn> = Arc::new(move |_: &[f32]| {
            let (count, cv) = &*running;
            let mut n = count.lock().unwrap();
            *n += 1;
            cv.notify_all();
            let (n, _) = cv
                .wait_timeout_while(n, Duration::from_secs(5), |n| *n < 2)
                .unwrap();
            Ok(Output {
                shape: vec![1],
                data: vec![(*n >= 2) as u8 as f32],
            })
        });
        let workers = Workers::spawn(2, "test-worker", run).unwrap();
        let (mut a, mut b) = (workers.submit(&[1.0]), workers.submit(&[2.0]));
        assert!(a.wait(Duration::from_secs(10)) && b.wait(Duration::from_secs(10)));
        assert_eq!(a.take().0.unwrap().data, vec![1.0]);
        assert_eq!(b.take().0.unwrap().data, vec![1.0]);
    }

    #[test]
    fn stopping_abandons_queued_jobs_without_hanging() {
        let run = sum_engine(Duration::from_millis(400));
        let mut workers = Workers::spawn(1, "test-worker", run).unwrap();
        let tickets: Vec<Ticket> = (0..5).map(|_| workers.submit(&[1.0])).collect();
        let started = Instant::now();
        workers.stop();
        // Running every job would take 2 s.
        assert!(started.elapsed() < Duration::from_millis(1500));
        let failed = tickets
            .into_iter()
            .map(|mut t| {
                t.wait(Duration::from_secs(1));
                t.take().0.is_err()
            })
            .filter(|f| *f)
            .count();
        assert!(failed >= 3, "{failed} of 5 abandoned");
        let (after, _) = workers.submit(&[1.0]).take();
        assert!(after.unwrap_err().contains("stopped"));
    }
}
