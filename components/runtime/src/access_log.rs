//! The access log a web server writes to its stdout, so that `kubectl logs deployment/nginx`
//! shows the requests it served: one line per request, in nginx's `combined` format as the
//! official image configures it (`/etc/nginx/nginx.conf`, `log_format main`: combined plus
//! `"$http_x_forwarded_for"`), stamped with the node's clock:
//!
//! `10.244.1.253 - - [06/Dec/2026:12:00:03 +0000] "GET / HTTP/1.1" 200 615 "-" "curl/8.5.0" "-"`
//!
//! Which images log: an image the scenario describes says so (`access_log:`); any other logs
//! when its repository's last path segment is `nginx` or `nginx-unprivileged` (`nginx`,
//! `nginx:1.27`, `bitnami/nginx`, `nginxinc/nginx-unprivileged`), the images learners expose.
//!
//! Kept cheap: a served request stores a small [`Access`] entry (client address and status)
//! in the container's log and the text is rendered only when the log is read; the log's line
//! cap is [`crate::state::MAX_LOG_LINES`].
//!
//! Simplifications: every request is `GET /` from a curl client; the body size is that of
//! nginx's default index page (615 bytes) or of its 503 error page; the line is written when
//! the request arrives (the server's latency is below the line's one-second resolution in
//! every scenario).

use std::net::Ipv4Addr;

use api::k8s_openapi::jiff::Timestamp;
use sim::Time;

use crate::images::ImageName;

/// The size of nginx's default `index.html`.
const INDEX_BYTES: u32 = 615;
/// The size of nginx's `503 Service Temporarily Unavailable` page.
const ERROR_503_BYTES: u32 = 197;
/// The user agent of the simulated clients.
const USER_AGENT: &str = "curl/8.5.0";

/// One request served, as stored in a container's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// The source address the server saw.
    pub client: Ipv4Addr,
    /// The HTTP status it answered.
    pub status: u16,
}

impl Access {
    /// The line nginx writes; `at` is the node's clock, `epoch_secs` the wall-clock second
    /// virtual time zero stands for.
    pub fn render(&self, at: Time, epoch_secs: i64) -> String {
        let secs = epoch_secs + (at.as_nanos() / 1_000_000_000) as i64;
        let stamp = Timestamp::from_second(secs)
            .map(|t| t.strftime("%d/%b/%Y:%H:%M:%S +0000").to_string())
            .unwrap_or_else(|_| "01/Jan/1970:00:00:00 +0000".to_string());
        let bytes = if self.status == 503 {
            ERROR_503_BYTES
        } else {
            INDEX_BYTES
        };
        format!(
            "{} - - [{stamp}] \"GET / HTTP/1.1\" {} {bytes} \"-\" \"{USER_AGENT}\" \"-\"",
            self.client, self.status
        )
    }
}

/// Whether an image nobody described writes an access log: nginx's images do (the
/// repository's last path segment is `nginx` or `nginx-unprivileged`).
pub fn logs_requests_by_name(image: &str) -> bool {
    let name = ImageName::parse(image);
    matches!(
        name.repository.rsplit('/').next(),
        Some("nginx" | "nginx-unprivileged")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_renders_in_nginx_combined_format() {
        let a = Access {
            client: Ipv4Addr::new(10, 244, 1, 1),
            status: 200,
        };
        // 2026-01-01T00:00:00Z plus 339 days, 12:00:03.
        let at = Time::from_nanos(((339 * 86_400 + 12 * 3600 + 3) as u64) * 1_000_000_000);
        assert_eq!(
            a.render(at, api::WALL_EPOCH_SECS),
            "10.244.1.1 - - [06/Dec/2026:12:00:03 +0000] \"GET / HTTP/1.1\" 200 615 \"-\" \"curl/8.5.0\" \"-\""
        );
    }

    #[test]
    fn nginx_images_log_requests() {
        for image in [
            "nginx",
            "nginx:1.27",
            "docker.io/library/nginx:1.25",
            "bitnami/nginx:latest",
            "localhost:5000/nginx",
            "nginxinc/nginx-unprivileged:1.27",
        ] {
            assert!(logs_requests_by_name(image), "{image}");
        }
        for image in [
            "httpd",
            "registry.k8s.io/pause:3.10",
            "nginx-exporter",
            "nginx/nginx-ingress",
        ] {
            assert!(!logs_requests_by_name(image), "{image}");
        }
    }
}
