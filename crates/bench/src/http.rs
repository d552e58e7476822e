//! A minimal keep-alive HTTP/1.1 client for the load loops.
//!
//! The load generator shares the machine's two cores with the service and
//! the database, so every cycle it spends is taken from what it measures. A
//! general client (reqwest/hyper) costs several times more per request than
//! writing a pre-built request and scanning the answer for `Content-Length`,
//! which is all the service's answers need (it never streams: every body is
//! sized). Chunked or unsized answers are reported as errors.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One kept-alive connection to the service.
pub struct Conn {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

/// A parsed answer; the body borrows the connection's buffer.
#[derive(Debug)]
pub struct Answer<'a> {
    /// The status code.
    pub status: u16,
    /// The body bytes.
    pub body: &'a [u8],
}

impl Conn {
    /// A connection to `addr`, opened on first use (and re-opened after an
    /// error or a `Connection: close`).
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            stream: None,
            buf: Vec::with_capacity(8192),
        }
    }

    /// Opens the TCP connection now, so the first timed request does not pay
    /// for it.
    ///
    /// # Errors
    /// The connect error.
    pub async fn open(&mut self) -> io::Result<()> {
        if self.stream.is_none() {
            let s = TcpStream::connect(self.addr).await?;
            s.set_nodelay(true)?;
            self.stream = Some(s);
        }
        Ok(())
    }

    /// Sends the complete request `req` and reads one answer. On any error
    /// the connection is dropped, so the next call reconnects.
    ///
    /// # Errors
    /// I/O errors, a closed connection, or an answer this client cannot read.
    pub async fn send(&mut self, req: &[u8]) -> io::Result<Answer<'_>> {
        match self.exchange(req).await {
            Ok((status, start, end, close)) => {
                if close {
                    self.stream = None;
                }
                Ok(Answer {
                    status,
                    body: &self.buf[start..end],
                })
            }
            Err(e) => {
                self.stream = None;
                Err(e)
            }
        }
    }

    async fn exchange(&mut self, req: &[u8]) -> io::Result<(u16, usize, usize, bool)> {
        self.open().await?;
        let stream = self
            .stream
            .as_mut()
            .ok_or_else(|| io::Error::other("no stream"))?;
        stream.write_all(req).await?;
        self.buf.clear();
        let head_end = loop {
            if let Some(pos) = find(&self.buf, b"\r\n\r\n") {
                break pos + 4;
            }
            read_more(stream, &mut self.buf).await?;
        };
        let head = &self.buf[..head_end];
        let status = parse_status(head)?;
        let mut length = None;
        let mut close = false;
        for line in head.split(|&b| b == b'\n').skip(1) {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
            if name.eq_ignore_ascii_case(b"content-length") {
                length = std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.parse::<usize>().ok());
            } else if name.eq_ignore_ascii_case(b"connection") {
                close = value.eq_ignore_ascii_case(b"close");
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                return Err(io::Error::other("chunked answers are not supported"));
            }
        }
        let length = length.ok_or_else(|| io::Error::other("an answer without Content-Length"))?;
        while self.buf.len() < head_end + length {
            read_more(stream, &mut self.buf).await?;
        }
        Ok((status, head_end, head_end + length, close))
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.reserve(4096);
    if stream.read_buf(buf).await? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the service closed the connection",
        ));
    }
    Ok(())
}

fn parse_status(head: &[u8]) -> io::Result<u16> {
    head.get(9..12)
        .filter(|_| head.starts_with(b"HTTP/1."))
        .and_then(|d| std::str::from_utf8(d).ok())
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| io::Error::other("not an HTTP/1.x status line"))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &v[start..end.max(start)]
}

/// Appends a complete HTTP/1.1 request to `out`: `method path`, the bearer
/// token and, when `body` is given, a JSON body with its length.
pub fn request(out: &mut Vec<u8>, method: &str, path: &str, token: &str, body: Option<&[u8]>) {
    use std::io::Write;
    let _ = write!(
        out,
        "{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
    );
    match body {
        Some(b) => {
            let _ = write!(
                out,
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                b.len()
            );
            out.extend_from_slice(b);
        }
        None => out.extend_from_slice(b"\r\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_trim() {
        assert_eq!(parse_status(b"HTTP/1.1 201 Created\r\n").ok(), Some(201));
        assert!(parse_status(b"SSH-2.0").is_err());
        assert_eq!(trim(b"  42 "), b"42");
        assert_eq!(trim(b"   "), b"");
    }

    #[test]
    fn requests_carry_length_and_token() {
        let mut out = Vec::new();
        request(&mut out, "PUT", "/x", "t", Some(b"{}"));
        let s = String::from_utf8(out).unwrap_or_default();
        assert!(s.starts_with("PUT /x HTTP/1.1\r\n"));
        assert!(s.contains("Authorization: Bearer t\r\n"));
        assert!(s.ends_with("Content-Length: 2\r\n\r\n{}"));
    }
}
