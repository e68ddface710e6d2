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

/// Default cap on a response body: KBS answers are small JSON documents (a JWE-wrapped resource,
/// a token, a policy); a few MiB leaves room for large resources while a hostile or broken server
/// cannot make the client buffer without bound.
pub const DEFAULT_MAX_RESPONSE_BODY: usize = 4 << 20;

/// Where the KBS is and how to reach it.
pub struct HttpClient {
    host: String,
    port: u16,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    conn: Option<SendRequest<Full<Bytes>>>,
    max_response_body: usize,
}

/// Reads a body up to `limit` bytes; a declared or actual length over it is an error, and the
/// connection is dropped with the rest unread.
async fn read_capped(body: hyper::body::Incoming, limit: usize) -> Result<Bytes, Error> {
    use hyper::body::Body as _;
    if body.size_hint().lower() > limit as u64 {
        return Err(Error::ResponseTooLarge { limit });
    }
    let mut body = body;
    let mut buf = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.map_err(http)?.into_data() {
            if buf.len() + data.len() > limit {
                return Err(Error::ResponseTooLarge { limit });
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

fn http(e: impl std::fmt::Display) -> Error {
    Error::Http(e.to_string())
}

fn tls(e: impl std::fmt::Display) -> Error {
    Error::Tls(e.to_string())
}

fn bad_url(url: &str, reason: impl Into<String>) -> Error {
    Error::KbsUrl { url: url.to_string(), reason: reason.into() }
}

impl HttpClient {
    /// `url` is `http://host:port` or `https://host:port`; HTTPS needs `ca_pem` (the PEM
    /// certificates to trust, e.g. the KBS's self-signed certificate).
    pub fn new(url: &str, ca_pem: Option<&[u8]>) -> Result<Self, Error> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad_url(url, "no scheme (http:// or https://)"))?;
        let hostport = rest.trim_end_matches('/');
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse::<u16>().map_err(|_| bad_url(url, "the port is not a number"))?),
            None => (hostport.to_string(), if scheme == "https" { 443 } else { 80 }),
        };
        let tls = match scheme {
            "http" => None,
            "https" => {
                let ca = ca_pem.ok_or_else(|| bad_url(url, "https needs the KBS's CA certificate (--cert)"))?;
                let mut roots = rustls::RootCertStore::empty();
                for c in rustls_pemfile::certs(&mut &ca[..]) {
                    roots.add(c.map_err(tls)?).map_err(tls)?;
                }
                if roots.is_empty() {
                    return Err(tls("no certificate in the CA file"));
                }
                let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
                let cfg = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(tls)?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                let name =
                    ServerName::try_from(host.trim_matches(|c| c == '[' || c == ']').to_string()).map_err(tls)?;
                Some((TlsConnector::from(Arc::new(cfg)), name))
            }
            other => return Err(bad_url(url, format!("unsupported scheme {other:?}"))),
        };
        Ok(HttpClient { host, port, tls, conn: None, max_response_body: DEFAULT_MAX_RESPONSE_BODY })
    }

    /// Caps response bodies at `limit` bytes (default [`DEFAULT_MAX_RESPONSE_BODY`]).
    pub fn with_max_response_body(mut self, limit: usize) -> Self {
        self.max_response_body = limit;
        self
    }

    async fn connect(&mut self) -> Result<SendRequest<Full<Bytes>>, Error> {
        let connect_err =
            |e: std::io::Error| Error::Connect { addr: format!("{}:{}", self.host, self.port), reason: e.to_string() };
        let tcp = TcpStream::connect((self.host.trim_matches(|c| c == '[' || c == ']'), self.port))
            .await
            .map_err(connect_err)?;
        tcp.set_nodelay(true).map_err(connect_err)?;
        let sender = match &self.tls {
            Some((conn, name)) => {
                let s = conn.connect(name.clone(), tcp).await.map_err(connect_err)?;
                let (sender, c) = hyper::client::conn::http1::handshake(TokioIo::new(s)).await.map_err(http)?;
                tokio::spawn(c);
                sender
            }
            None => {
                let (sender, c) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.map_err(http)?;
                tokio::spawn(c);
                sender
            }
        };
        Ok(sender)
    }

    /// Sends one request on the kept-alive connection (reconnecting once if it was closed).
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Response, Error> {
        let body = Bytes::from(body);
        for attempt in 0..2 {
            let mut conn = match self.conn.take() {
                Some(c) if !c.is_closed() => c,
                _ => self.connect().await?,
            };
            if conn.ready().await.is_err() {
                continue;
            }
            let mut req = Request::builder()
                .method(method.clone())
                .uri(path)
                .header("host", format!("{}:{}", self.host, self.port));
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            let req = req.body(Full::new(body.clone())).map_err(http)?;
            match conn.send_request(req).await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let set_cookies = resp
                        .headers()
                        .get_all("set-cookie")
                        .iter()
                        .filter_map(|v| v.to_str().ok().map(str::to_string))
                        .collect();
                    // over the limit: `conn` is dropped, so the rest of the body is never read
                    let body = read_capped(resp.into_body(), self.max_response_body).await?;
                    self.conn = Some(conn);
                    return Ok(Response { status, set_cookies, body });
                }
                Err(e) if attempt == 0 && (e.is_closed() || e.is_canceled()) => continue,
                Err(e) => return Err(http(e)),
            }
        }
        Err(http("connection closed by the server"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server that answers every connection with a chunked body that never ends (it stops
    /// writing at `total` bytes but keeps the connection open, so a client without a limit waits
    /// forever with everything in memory).
    async fn endless_server(total: usize, content_length: Option<u64>) -> u16 {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf).await;
                    let head = match content_length {
                        Some(n) => format!("HTTP/1.1 200 OK\r\ncontent-length: {n}\r\n\r\n"),
                        None => "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_string(),
                    };
                    if s.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    let chunk = vec![b'a'; 64 << 10];
                    let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
                    framed.extend_from_slice(&chunk);
                    framed.extend_from_slice(b"\r\n");
                    let mut sent = 0;
                    while sent < total {
                        let w = if content_length.is_some() { &chunk[..] } else { &framed[..] };
                        if s.write_all(w).await.is_err() {
                            return;
                        }
                        sent += chunk.len();
                    }
                    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                });
            }
        });
        port
    }

    /// Item 11: the client stops reading a response body at its limit and says which limit.
    #[tokio::test]
    async fn response_body_size_is_capped() {
        let port = endless_server(256 << 20, None).await;
        let mut c = HttpClient::new(&format!("http://127.0.0.1:{port}"), None).unwrap();
        let r = tokio::time::timeout(std::time::Duration::from_secs(30), c.send(Method::GET, "/x", &[], Vec::new()))
            .await
            .expect("the client must give up at its limit, not wait for the end of an endless body");
        let e = r.unwrap_err();
        assert_eq!(e, Error::ResponseTooLarge { limit: DEFAULT_MAX_RESPONSE_BODY });
        assert!(e.to_string().contains(&DEFAULT_MAX_RESPONSE_BODY.to_string()), "{e}");
        // a configured limit; and a declared Content-Length over it is refused before reading
        let port = endless_server(1 << 20, Some(u64::MAX / 2)).await;
        let mut c = HttpClient::new(&format!("http://127.0.0.1:{port}"), None).unwrap().with_max_response_body(1000);
        let e = c.send(Method::GET, "/x", &[], Vec::new()).await.unwrap_err();
        assert_eq!(e, Error::ResponseTooLarge { limit: 1000 });
    }
}
