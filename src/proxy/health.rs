//! The health and metrics endpoint (`--health-port`), on loopback, served
//! by hyper: `/startup`, `/liveness` and `/readiness` as the Cloud SQL Auth
//! Proxy has them, `/metrics` in the Prometheus text format, and, with
//! `--quitquitquit`, `POST /quitquitquit` to stop.

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::Proxy;

/// Serves the endpoint on `listener` until the process ends.
pub async fn serve(listener: TcpListener, proxy: Arc<Proxy>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        };
        let proxy = Arc::clone(&proxy);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let proxy = Arc::clone(&proxy);
                async move { Ok::<_, Infallible>(answer(&request, &proxy).await) }
            });
            let connection = http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(std::time::Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(std::time::Duration::from_secs(60), connection).await;
        });
    }
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// The answer to `request`.
pub async fn answer(request: &Request<Incoming>, proxy: &Proxy) -> Response<Full<Bytes>> {
    let path = request.uri().path();
    let method = request.method();
    if path == "/quitquitquit" {
        if !proxy.quitquitquit {
            return text(
                StatusCode::NOT_FOUND,
                "not found: start the proxy with --quitquitquit\n",
            );
        }
        if method != Method::POST {
            return text(StatusCode::METHOD_NOT_ALLOWED, "use POST\n");
        }
        proxy.log.info("stop asked for by POST /quitquitquit", &[]);
        proxy.request_stop();
        return text(StatusCode::OK, "stopping\n");
    }
    if method != Method::GET && method != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "use GET\n");
    }
    match path {
        "/startup" => {
            if proxy.started.load(Ordering::SeqCst) {
                text(StatusCode::OK, "ok\n")
            } else {
                text(StatusCode::SERVICE_UNAVAILABLE, "starting\n")
            }
        }
        "/liveness" => text(StatusCode::OK, "ok\n"),
        "/readiness" => match proxy.ready().await {
            Ok(()) => text(StatusCode::OK, "ok\n"),
            Err(why) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {why}\n"),
            ),
        },
        "/metrics" => {
            let mut response = text(StatusCode::OK, proxy.metrics.encode());
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            response
        }
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: /startup, /liveness, /readiness, /metrics\n",
        ),
    }
}
