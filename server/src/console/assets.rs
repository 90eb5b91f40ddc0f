//! The console's static files, compiled into the binary: the vendored
//! htmx and uPlot (`server/assets/VENDORED.md`) and our own script and
//! style sheet. Each is served under a name carrying the first 16 hex
//! digits of its SHA-256 (`/assets/app.3f2a….js`), so a page names exactly
//! the bytes it was written against and browsers may keep them for a year.

use std::sync::OnceLock;

use actix_web::{http::header, web, HttpResponse};
use sha2::{Digest, Sha256};

/// One file: its logical name, content type and bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const FILES: [Asset; 5] = [
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/vendor/htmx.min.js"),
    },
    Asset {
        name: "uPlot.iife.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/vendor/uPlot.iife.min.js"),
    },
    Asset {
        name: "uPlot.min.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/vendor/uPlot.min.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/app.js"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/app.css"),
    },
];

/// Each file's served name, computed once.
fn served() -> &'static [(String, usize)] {
    static NAMES: OnceLock<Vec<(String, usize)>> = OnceLock::new();
    NAMES.get_or_init(|| {
        FILES
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let hash = hex::encode(&Sha256::digest(a.bytes)[..8]);
                let (stem, ext) = a.name.rsplit_once('.').unwrap_or((a.name, ""));
                (format!("{stem}.{hash}.{ext}"), i)
            })
            .collect()
    })
}

/// The URL of file `name` (`app.js`), content-hashed.
pub fn url(name: &str) -> String {
    served()
        .iter()
        .find(|(_, i)| FILES[*i].name == name)
        .map_or_else(
            || format!("/assets/{name}"),
            |(s, _)| format!("/assets/{s}"),
        )
}

/// `GET /assets/{name}`: a file by its hashed name, cached for a year.
pub async fn serve(name: web::Path<String>) -> HttpResponse {
    match served().iter().find(|(s, _)| *s == *name) {
        Some((_, i)) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, FILES[*i].content_type))
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(FILES[*i].bytes),
        None => HttpResponse::NotFound()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_has_a_hashed_name() {
        let u = url("app.js");
        assert!(
            u.starts_with("/assets/app.") && u.ends_with(".js") && u.len() > 20,
            "{u}"
        );
        assert_ne!(url("htmx.min.js"), url("app.js"));
        assert_eq!(url("missing.js"), "/assets/missing.js");
    }
}
