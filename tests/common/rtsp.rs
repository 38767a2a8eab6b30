//! A real RTSP server for tests: gst-rtsp-server in the test process on 127.0.0.1 (free
//! port), serving a file's H.264 paced like a live camera. Stopped on drop.

use std::path::Path;
use std::time::{Duration, Instant};

use gst::glib;
use gst_rtsp_server::prelude::*;

/// An RTSP server on 127.0.0.1 (free port) serving `video` at `/test`, its GLib main
/// context running in a thread of its own. Stopped on drop.
pub struct Server {
    server: gst_rtsp_server::RTSPServer,
    context: glib::MainContext,
    main_loop: glib::MainLoop,
    source: Option<glib::SourceId>,
    thread: Option<std::thread::JoinHandle<()>>,
    port: i32,
}

impl Server {
    pub fn start(video: &Path) -> Self {
        assert!(video.is_file(), "{} is missing", video.display());
        let server = gst_rtsp_server::RTSPServer::new();
        server.set_address("127.0.0.1");
        server.set_service("0");
        let factory = gst_rtsp_server::RTSPMediaFactory::new();
        // The file's H.264 as it is, paced by the clock like a live camera (the media's
        // sinks synchronise); every client gets its own media from the start of the file.
        factory.set_launch(&format!(
            "( filesrc location=\"{}\" ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )",
            video.display()
        ));
        factory.set_shared(false);
        server
            .mount_points()
            .expect("server has mount points")
            .add_factory("/test", factory);

        let context = glib::MainContext::new();
        let source = server.attach(Some(&context)).expect("RTSP server listens");
        let port = server.bound_port();
        assert!(port > 0, "bound port {port}");
        let main_loop = glib::MainLoop::new(Some(&context), false);
        let thread = {
            let context = context.clone();
            let main_loop = main_loop.clone();
            std::thread::Builder::new()
                .name("rtsp-server".into())
                .spawn(move || {
                    context
                        .with_thread_default(|| main_loop.run())
                        .expect("server context acquired");
                })
                .unwrap()
        };
        Server {
            server,
            context,
            main_loop,
            source: Some(source),
            thread: Some(thread),
            port,
        }
    }

    /// `rtsp://127.0.0.1:port/test`.
    pub fn url(&self) -> String {
        format!("rtsp://127.0.0.1:{}/test", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Close the clients and stop listening from the server's own thread, then stop it.
        let server = self.server.clone();
        let main_loop = self.main_loop.clone();
        let source = self.source.take();
        let context = self.context.clone();
        self.context.invoke(move || {
            server.client_filter(Some(&mut |_, _| gst_rtsp_server::RTSPFilterResult::Remove));
            if let Some(source) = source.and_then(|id| context.find_source_by_id(&id)) {
                source.destroy();
            }
            main_loop.quit();
        });
        if let Some(thread) = self.thread.take() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if thread.is_finished() {
                thread.join().unwrap();
            } else {
                eprintln!("RTSP server thread did not stop within 10 s");
            }
        }
    }
}
