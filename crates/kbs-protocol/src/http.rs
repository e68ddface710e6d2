//! A minimal HTTP/1.1 client (keep-alive, one connection, optional TLS) for the RCAR client.
//! Small on purpose: an Attestation Agent in an enclave pays for every dependency.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::Error;

/// A response: status, `Set-Cookie` values and body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub set_cookies: Vec<String>,
    pub body: Bytes,
}

/// Where the KBS is and how to reach it.
pub struct HttpClient {
    host: String,
    port: u16,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    conn: Option<SendRequest<Full<Bytes>>>,
}

fn t(e: impl std::fmt::Display) -> Error {
    Error::Transport(e.to_string())
}

impl HttpClient {
    /// `url` is `http://host:port` or `https://host:port`; HTTPS needs `ca_pem` (the PEM
    /// certificates to trust, e.g. the KBS's self-signed certificate).
    pub fn new(url: &str, ca_pem: Option<&[u8]>) -> Result<Self, Error> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| t(format!("URL {url:?} has no scheme")))?;
        let hostport = rest.trim_end_matches('/');
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse::<u16>().map_err(|_| t(format!("bad port in {url:?}")))?),
            None => (hostport.to_string(), if scheme == "https" { 443 } else { 80 }),
        };
        let tls = match scheme {
            "http" => None,
            "https" => {
                let ca = ca_pem.ok_or_else(|| t("https needs a CA certificate (--cert)"))?;
                let mut roots = rustls::RootCertStore::empty();
                for c in rustls_pemfile::certs(&mut &ca[..]) {
                    roots.add(c.map_err(t)?).map_err(t)?;
                }
                if roots.is_empty() {
                    return Err(t("no certificate in the CA file"));
                }
                let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
                let cfg = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(t)?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                let name = ServerName::try_from(host.trim_matches(|c| c == '[' || c == ']').to_string()).map_err(t)?;
                Some((TlsConnector::from(Arc::new(cfg)), name))
            }
            other => return Err(t(format!("unsupported scheme {other:?}"))),
        };
        Ok(HttpClient { host, port, tls, conn: None })
    }

    async fn connect(&mut self) -> Result<SendRequest<Full<Bytes>>, Error> {
        let tcp = TcpStream::connect((self.host.trim_matches(|c| c == '[' || c == ']'), self.port)).await.map_err(t)?;
        tcp.set_nodelay(true).map_err(t)?;
        let sender = match &self.tls {
            Some((conn, name)) => {
                let s = conn.connect(name.clone(), tcp).await.map_err(t)?;
                let (sender, c) = hyper::client::conn::http1::handshake(TokioIo::new(s)).await.map_err(t)?;
                tokio::spawn(c);
                sender
            }
            None => {
                let (sender, c) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.map_err(t)?;
                tokio::spawn(c);
                sender
            }
        };
        Ok(sender)
    }

    /// Sends one request on the kept-alive connection (reconnecting once if it was closed).
    pub async fn send(&mut self, method: Method, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Result<Response, Error> {
        let body = Bytes::from(body);
        for attempt in 0..2 {
            let mut conn = match self.conn.take() {
                Some(c) if !c.is_closed() => c,
                _ => self.connect().await?,
            };
            if conn.ready().await.is_err() {
                continue;
            }
            let mut req = Request::builder().method(method.clone()).uri(path).header("host", format!("{}:{}", self.host, self.port));
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            let req = req.body(Full::new(body.clone())).map_err(t)?;
            match conn.send_request(req).await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let set_cookies = resp
                        .headers()
                        .get_all("set-cookie")
                        .iter()
                        .filter_map(|v| v.to_str().ok().map(str::to_string))
                        .collect();
                    let body = resp.into_body().collect().await.map_err(t)?.to_bytes();
                    self.conn = Some(conn);
                    return Ok(Response { status, set_cookies, body });
                }
                Err(e) if attempt == 0 && (e.is_closed() || e.is_canceled()) => continue,
                Err(e) => return Err(t(e)),
            }
        }
        Err(t("connection closed by the server"))
    }
}
