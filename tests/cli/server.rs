//! A small HTTP/1.1 server on 127.0.0.1 for the tests: routes answer with
//! chosen status, headers and body, honour ETag / If-None-Match, and can
//! misbehave (trickle, stall, lie about length). It counts hits per path.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// How a route answers.
#[derive(Clone)]
pub enum Reply {
    /// A complete response; `etag` enables conditional GET (304 on a match).
    Ok { status: u16, content_type: &'static str, body: Vec<u8>, etag: Option<String>, headers: Vec<(String, String)> },
    /// Sends headers then the body one byte per `interval`.
    Trickle { body: Vec<u8>, interval: Duration },
    /// Waits `delay` before answering normally.
    Slow { delay: Duration, body: Vec<u8> },
    /// A redirect with this status to this location.
    Redirect { status: u16, location: String },
    /// Answers in turn (the last one repeats).
    Sequence(Vec<Reply>),
    /// Headers, then body bytes without end (until the client hangs up).
    Endless,
    /// Reads the request, then resets the connection (TCP RST, no answer).
    Reset,
}

impl Reply {
    pub fn xml(body: impl Into<Vec<u8>>) -> Reply {
        Reply::Ok { status: 200, content_type: "application/rss+xml", body: body.into(), etag: None, headers: vec![] }
    }
    pub fn with_etag(self, tag: &str) -> Reply {
        match self {
            Reply::Ok { status, content_type, body, headers, .. } => {
                Reply::Ok { status, content_type, body, etag: Some(format!("\"{tag}\"")), headers }
            }
            other => other,
        }
    }
    pub fn status(status: u16, body: &str) -> Reply {
        Reply::Ok { status, content_type: "text/plain", body: body.as_bytes().to_vec(), etag: None, headers: vec![] }
    }
    pub fn with_header(self, name: &str, value: &str) -> Reply {
        match self {
            Reply::Ok { status, content_type, body, etag, mut headers } => {
                headers.push((name.to_owned(), value.to_owned()));
                Reply::Ok { status, content_type, body, etag, headers }
            }
            other => other,
        }
    }
    pub fn html(body: &str) -> Reply {
        Reply::Ok {
            status: 200,
            content_type: "text/html",
            body: body.as_bytes().to_vec(),
            etag: None,
            headers: vec![],
        }
    }
}

/// What the server saw of one request.
#[derive(Clone, Debug)]
pub struct SeenRequest {
    pub path: String,
    pub headers: HashMap<String, String>,
}

#[derive(Default)]
struct State {
    routes: HashMap<String, Reply>,
    seen: Vec<SeenRequest>,
    turns: HashMap<String, usize>,
}

/// The server; stops when dropped.
pub struct Server {
    pub port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (Arc::clone(&state), Arc::clone(&stop));
        thread::spawn(move || {
            while !sp.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let st = Arc::clone(&st);
                        let sp = Arc::clone(&sp);
                        thread::spawn(move || handle(stream, &st, &sp));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Server { port, state, stop }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn route(&self, path: &str, reply: Reply) {
        self.state.lock().unwrap().routes.insert(path.to_owned(), reply);
    }

    pub fn hits(&self, path: &str) -> usize {
        self.state.lock().unwrap().seen.iter().filter(|r| r.path == path).count()
    }

    pub fn requests(&self, path: &str) -> Vec<SeenRequest> {
        self.state.lock().unwrap().seen.iter().filter(|r| r.path == path).cloned().collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn handle(mut stream: TcpStream, state: &Mutex<State>, stop: &AtomicBool) {
    stream.set_nonblocking(false).ok();
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let reply = {
        let mut st = state.lock().unwrap();
        st.seen.push(SeenRequest { path: path.clone(), headers: headers.clone() });
        match st.routes.get(&path).cloned() {
            Some(Reply::Sequence(replies)) => {
                let turn = st.turns.entry(path.clone()).or_default();
                let reply = replies[(*turn).min(replies.len() - 1)].clone();
                *turn += 1;
                Some(reply)
            }
            other => other,
        }
    };
    let _ = match reply {
        None => write_response(&mut stream, 404, "text/plain", &[], b"not found"),
        Some(Reply::Ok { status, content_type, body, etag, headers: extra }) => {
            let mut hdrs = extra.clone();
            if let Some(tag) = &etag {
                hdrs.push(("ETag".into(), tag.clone()));
                if headers.get("if-none-match") == Some(tag) {
                    let _ = write_response(&mut stream, 304, content_type, &hdrs, b"");
                    return;
                }
            }
            write_response(&mut stream, status, content_type, &hdrs, &body)
        }
        Some(Reply::Slow { delay, body }) => {
            let until = std::time::Instant::now() + delay;
            while std::time::Instant::now() < until && !stop.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(20));
            }
            write_response(&mut stream, 200, "application/rss+xml", &[], &body)
        }
        Some(Reply::Redirect { status, location }) => {
            write_response(&mut stream, status, "text/plain", &[("Location".into(), location)], b"moved")
        }
        Some(Reply::Sequence(_)) => unreachable!("sequences are resolved above"),
        Some(Reply::Reset) => {
            // Linger 0: closing sends RST instead of FIN.
            let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
            drop(reader);
            drop(stream);
            return;
        }
        Some(Reply::Endless) => {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nConnection: close\r\n\r\n<rss version=\"2.0\"><channel>");
            let chunk = vec![b' '; 64 * 1024];
            for _ in 0..4096 {
                if stop.load(Ordering::Relaxed) || stream.write_all(&chunk).is_err() {
                    break;
                }
            }
            Ok(())
        }
        Some(Reply::Trickle { body, interval }) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            for b in body {
                if stop.load(Ordering::Relaxed) || stream.write_all(&[b]).is_err() {
                    break;
                }
                let _ = stream.flush();
                thread::sleep(interval);
            }
            Ok(())
        }
    };
    // Drain anything left so the client sees a clean close.
    let mut sink = [0u8; 64];
    stream.set_read_timeout(Some(Duration::from_millis(10))).ok();
    let _ = stream.read(&mut sink);
}

fn write_response(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    if !content_type.is_empty() {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if status != 304 {
        stream.write_all(body)?;
    }
    stream.flush()
}
