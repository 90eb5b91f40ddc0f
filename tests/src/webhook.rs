//! A real HTTP listener that records the webhook calls the server makes
//! (event header, signature header, body), answering 200, or 500 for the
//! first `fail_first` calls to exercise retries.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc, Mutex,
};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

/// One call received.
#[derive(Debug, Clone)]
pub struct Call {
    pub event: String,
    pub signature: String,
    /// `X-Wavecast-Delivery`: one id per delivery, the same on a retry.
    pub delivery: String,
    pub body: Vec<u8>,
}

impl Call {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("webhook body is JSON")
    }
}

/// The listener: its URL and what it received.
#[derive(Debug, Clone)]
pub struct Sink {
    pub url: String,
    pub calls: Arc<Mutex<Vec<Call>>>,
    pub refused: Arc<AtomicUsize>,
}

impl Sink {
    /// Starts listening on a free loopback port.
    pub fn start(fail_first: usize) -> Sink {
        let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
        let refused = Arc::new(AtomicUsize::new(0));
        let (c, r) = (calls.clone(), refused.clone());
        let server = HttpServer::new(move || {
            let (c, r) = (c.clone(), r.clone());
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let (c, r) = (c.clone(), r.clone());
                async move {
                    if r.load(Ordering::SeqCst) < fail_first {
                        r.fetch_add(1, Ordering::SeqCst);
                        return HttpResponse::InternalServerError().finish();
                    }
                    let header = |n: &str| {
                        req.headers()
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    c.lock().expect("calls").push(Call {
                        event: header("x-wavecast-event"),
                        signature: header("x-wavecast-signature"),
                        delivery: header("x-wavecast-delivery"),
                        body: body.to_vec(),
                    });
                    HttpResponse::Ok().finish()
                }
            }))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("bind a free port");
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        Sink {
            url: format!("http://127.0.0.1:{port}/hooks/wavecast"),
            calls,
            refused,
        }
    }

    /// The calls received so far.
    pub fn received(&self) -> Vec<Call> {
        self.calls.lock().expect("calls").clone()
    }
}
