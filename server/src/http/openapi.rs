//! The OpenAPI 3.1 document of the HTTP API, generated from the handlers'
//! `#[utoipa::path]` annotations and the wire types' schemas, and served
//! at `GET /api/v1/openapi.json` (`routes::document`). What every
//! operation shares is added
//! here rather than written 88 times: the three bearer schemes (operator
//! token `wc_…`, device credential `wcd_…`, subscriber token `wcs_…`),
//! the problem+json answers each kind of operation can give, and
//! operation ids made from the method and path.

use utoipa::{
    openapi::{
        path::{Operation, PathItem},
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
        Content, OpenApi as Document, Ref, ResponseBuilder,
    },
    Modify, OpenApi,
};
use wavecast_protocol::{problem::PROBLEM_CONTENT_TYPE, Problem};

/// The document's frame: what the handlers do not say themselves.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Wavecast",
        description = "Firmware, codec and DRM updates for set-top boxes, and the \
                       after-sales desk. Every error is an RFC 9457 problem \
                       (application/problem+json).",
    ),
    components(schemas(Problem)),
    tags(
        (name = "device", description = "What boxes call: enrol, check in, report, download"),
        (name = "updates", description = "Keyring, bundles and rollouts"),
        (name = "fleet", description = "Boxes, telemetry, the fault catalog and problems"),
        (name = "support", description = "Tickets, plans, warranty, subscribers, webhooks"),
        (name = "subscriber", description = "The subscriber's own API"),
        (name = "licences", description = "Products, licence policies, licences, activations and validation"),
        (name = "ddi", description = "Boxes running a hawkBit DDI client (SWUpdate, rauc-hawkbit-updater): \
                                    registration and TargetTokens; the DDI API itself follows hawkBit's own description"),
        (name = "identity", description = "Users, tokens and the audit log"),
        (name = "server", description = "Health, readiness, metrics, version and this document"),
    )
)]
struct Frame;

/// The whole document: the frame, `paths` (the handlers' own documents,
/// `routes::Paths`), and what every operation shares.
pub fn build(paths: Document) -> Document {
    let mut doc = Frame::openapi();
    doc.merge(paths);
    Schemes.modify(&mut doc);
    Errors.modify(&mut doc);
    OperationIds.modify(&mut doc);
    doc
}

/// The three kinds of bearer credential.
struct Schemes;

impl Modify for Schemes {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        for (name, what) in [
            (
                "operator",
                "An operator token (`wc_…`): `wavecast tokens create`",
            ),
            ("device", "A box's credential (`wcd_…`), from enrolment"),
            (
                "subscriber",
                "A subscriber token (`wcs_…`), made by support staff",
            ),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(what))
                        .build(),
                ),
            );
        }
    }
}

/// The problem answers operations share, added where the operation does
/// not list them itself.
struct Errors;

/// A problem+json response.
fn problem(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_CONTENT_TYPE,
            Content::new(Some(Ref::from_schema_name("Problem"))),
        )
        .build()
}

impl Modify for Errors {
    fn modify(&self, doc: &mut Document) {
        for (path, item) in doc.paths.paths.iter_mut() {
            let templated = path.contains('{');
            for op in operations(item) {
                let takes_input = op.parameters.as_ref().is_some_and(|p| !p.is_empty())
                    || op.request_body.is_some();
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let mut add = |status: &str, description: &str| {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| problem(description).into());
                };
                if takes_input {
                    add(
                        "400",
                        "The request is malformed (syntax, types, missing fields)",
                    );
                    add("422", "A value in the request is not acceptable");
                }
                if secured {
                    add("401", "No valid credential");
                    add("403", "The credential does not allow this");
                }
                if templated {
                    add(
                        "404",
                        "The named object does not exist, or is not the caller's",
                    );
                }
                if op.request_body.is_some() {
                    add("413", "The request body is larger than allowed");
                    add(
                        "415",
                        "The body is not in a media type this operation reads",
                    );
                }
                add(
                    "500",
                    "The server failed; the x-request-id header finds the cause in its log",
                );
            }
        }
    }
}

/// Operation ids from the method and path (`get_bundles_reference`), as
/// handler names repeat across features (`list`, `show`).
struct OperationIds;

impl Modify for OperationIds {
    fn modify(&self, doc: &mut Document) {
        for (path, item) in doc.paths.paths.iter_mut() {
            let words: Vec<String> = path
                .trim_start_matches("/api/v1")
                .split(['/', '-', '.'])
                .filter(|w| !w.is_empty())
                .map(|w| w.trim_matches(['{', '}']).to_owned())
                .collect();
            for (method, op) in [
                ("get", item.get.as_mut()),
                ("put", item.put.as_mut()),
                ("post", item.post.as_mut()),
                ("delete", item.delete.as_mut()),
                ("patch", item.patch.as_mut()),
                ("head", item.head.as_mut()),
            ] {
                if let Some(op) = op {
                    op.operation_id = Some(format!("{method}_{}", words.join("_")));
                }
            }
        }
    }
}

/// The operations of a path item.
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
        item.head.as_mut(),
    ]
    .into_iter()
    .flatten()
}
