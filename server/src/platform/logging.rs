//! Logging: readable text by default, JSON lines with a switch; `RUST_LOG`
//! overrides the configured filter. The embedded MQTT broker's library
//! logs every connection at INFO; unless the filter names it, it logs
//! warnings only ([`filter_of`]), and the server's own lines say what
//! matters (connections refused, the broker listening). The HTTP library
//! logs at ERROR every request it cannot parse (a request carrying both
//! `Content-Length` and `Transfer-Encoding`, say), which any client could
//! use to fill the error log with its own mistakes; it answers them 400
//! before the server sees them, and unless the filter names it, it logs
//! nothing.

use tracing_subscriber::{fmt, prelude::*, EnvFilter};

use super::config::{LogConfig, LogFormat};

/// The configured filter, with the broker library at warnings and the
/// HTTP library's connection errors off, unless it names them itself.
pub fn filter_of(configured: &str) -> String {
    let mut filter = configured.to_owned();
    if !configured.contains("mqtt5") {
        filter.push_str(",mqtt5=warn");
    }
    if !configured.contains("actix_http") {
        filter.push_str(",actix_http::h1::dispatcher=off");
    }
    filter
}

/// Installs the global subscriber. Later calls (tests) are ignored.
pub fn init(config: &LogConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(filter_of(&config.filter)))
        .unwrap_or_else(|_| EnvFilter::new(filter_of("info")));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match config.format {
        LogFormat::Text => registry
            .with(
                fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_target(false)
                    // Colours only for a terminal, not in a log file.
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    drop(result);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_broker_library_is_quiet_unless_asked() {
        assert_eq!(
            filter_of("info"),
            "info,mqtt5=warn,actix_http::h1::dispatcher=off"
        );
        assert_eq!(
            filter_of("info,mqtt5=debug,actix_http=debug"),
            "info,mqtt5=debug,actix_http=debug"
        );
        EnvFilter::try_new(filter_of("wavecast_server=debug,info")).expect("a valid filter");
    }
}
