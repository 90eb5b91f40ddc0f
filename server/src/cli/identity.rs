//! `wavecast whoami`, `users`, `tokens` and `audit`.

use clap::Subcommand;
use reqwest::Method;

use super::{client::Client, output};
use crate::identity::{
    roles::Role,
    views::{
        AuditEntry, CreateToken, CreateUser, CreatedToken, Page, SetPassword, TokenView,
        UpdateUser, UserView, WhoAmI,
    },
};

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// List users.
    List,
    /// Show one user.
    Show {
        /// The user's name.
        name: String,
    },
    /// Create a user.
    Create {
        /// The user's name (lower case, digits, `-`, `_`, `.`).
        name: String,
        /// admin, operator, support or viewer.
        #[arg(long)]
        role: Role,
        /// The name people read (default: the user's name).
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Change a user's role.
    SetRole {
        /// The user's name.
        name: String,
        /// admin, operator, support or viewer.
        role: Role,
    },
    /// Disable a user: their tokens stop working.
    Disable {
        /// The user's name.
        name: String,
    },
    /// Enable a disabled user.
    Enable {
        /// The user's name.
        name: String,
    },
    /// Set a user's console password (admins); ends their console sessions.
    SetPassword {
        /// The user's name.
        name: String,
        /// Read the password from standard input (one line), as scripts do.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// List your tokens (admins: --user NAME or --all).
    List {
        /// Another user's tokens (admins).
        #[arg(long)]
        user: Option<String>,
        /// Every user's tokens (admins).
        #[arg(long)]
        all: bool,
    },
    /// Create a token; its text is printed once.
    Create {
        /// What the token is for, e.g. my-laptop or ci.
        #[arg(long)]
        name: String,
        /// Days until it expires (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
        /// Create it for another user (admins).
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a token by id.
    Revoke {
        /// The token's id (see `tokens list`).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List audit entries, newest first.
    List {
        /// Only changes by this user (or `system`).
        #[arg(long)]
        actor: Option<String>,
        /// Only this action, e.g. rollout.create or token.revoke.
        #[arg(long)]
        action: Option<String>,
        /// Only changes to this kind of object, e.g. rollout, bundle, user.
        #[arg(long)]
        object_type: Option<String>,
        /// Only changes to this object (with --object-type).
        #[arg(long)]
        object_id: Option<String>,
        /// Only entries from then on: RFC 3339 time, e.g. 2026-11-23T00:00:00Z.
        #[arg(long)]
        since: Option<String>,
        /// Only entries older than this entry id (the next page, as printed).
        #[arg(long)]
        before: Option<i64>,
        /// At most this many entries (up to 1000).
        #[arg(long, default_value_t = 50)]
        limit: u64,
    },
}

fn user_rows(users: &[UserView]) -> Vec<Vec<String>> {
    users
        .iter()
        .map(|u| {
            vec![
                u.name.clone(),
                u.role.to_string(),
                if u.disabled { "disabled" } else { "active" }.to_owned(),
                u.display_name.clone(),
                output::time(Some(u.created_at)),
            ]
        })
        .collect()
}
const USER_HEADER: &[&str] = &["NAME", "ROLE", "STATE", "DISPLAY NAME", "CREATED"];

fn token_rows(tokens: &[TokenView]) -> Vec<Vec<String>> {
    tokens
        .iter()
        .map(|t| {
            vec![
                t.id.to_string(),
                t.prefix.clone(),
                t.user.clone(),
                t.name.clone(),
                output::time(t.expires_at),
                if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                }
                .to_owned(),
                output::time(t.last_used_at),
            ]
        })
        .collect()
}
const TOKEN_HEADER: &[&str] = &[
    "ID",
    "PREFIX",
    "USER",
    "NAME",
    "EXPIRES",
    "STATE",
    "LAST USED",
];

pub async fn whoami(client: &Client, json: bool) -> anyhow::Result<()> {
    let me: WhoAmI = client.get("api/v1/me", &[]).await?;
    if json {
        output::print(true, &me, &[], vec![]);
    } else {
        crate::outln!(
            "{} ({}), role {}, token {} \"{}\"",
            me.user.name,
            me.user.display_name,
            me.user.role,
            me.token.prefix,
            me.token.name
        );
    }
    Ok(())
}

pub async fn users(client: &Client, cmd: UsersCommand, json: bool) -> anyhow::Result<()> {
    let one = |u: UserView| {
        let rows = user_rows(std::slice::from_ref(&u));
        output::print(json, &u, USER_HEADER, rows);
    };
    let patch = |name: String, body: UpdateUser| async move {
        client
            .send::<_, UserView>(
                Method::PATCH,
                &format!("api/v1/users/{name}"),
                &[],
                Some(&body),
            )
            .await
    };
    match cmd {
        UsersCommand::List => {
            let users: Vec<UserView> = client.get("api/v1/users", &[]).await?;
            output::print(json, &users, USER_HEADER, user_rows(&users));
        }
        UsersCommand::Show { name } => {
            one(client.get(&format!("api/v1/users/{name}"), &[]).await?)
        }
        UsersCommand::Create {
            name,
            role,
            display_name,
        } => {
            let body = CreateUser {
                name,
                role,
                display_name,
            };
            one(client
                .send(Method::POST, "api/v1/users", &[], Some(&body))
                .await?);
        }
        UsersCommand::SetRole { name, role } => one(patch(
            name,
            UpdateUser {
                role: Some(role),
                ..Default::default()
            },
        )
        .await?),
        UsersCommand::Disable { name } => one(patch(
            name,
            UpdateUser {
                disabled: Some(true),
                ..Default::default()
            },
        )
        .await?),
        UsersCommand::SetPassword {
            name,
            password_stdin,
        } => {
            if !password_stdin {
                anyhow::bail!(
                    "give the password on standard input with --password-stdin \
                     (it never goes on the command line)"
                );
            }
            let mut password = String::new();
            std::io::stdin().read_line(&mut password)?;
            let password = password.trim_end_matches(['\n', '\r']).to_owned();
            client
                .call(
                    Method::PUT,
                    &format!("api/v1/users/{name}/password"),
                    Some(&SetPassword { password }),
                )
                .await?;
            if !json {
                eprintln!("password set for {name}; their console sessions ended");
            }
        }
        UsersCommand::Enable { name } => one(patch(
            name,
            UpdateUser {
                disabled: Some(false),
                ..Default::default()
            },
        )
        .await?),
    }
    Ok(())
}

pub async fn tokens(client: &Client, cmd: TokensCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        TokensCommand::List { user, all } => {
            let mut q = Vec::new();
            if let Some(u) = user {
                q.push(("user", u));
            }
            if all {
                q.push(("all", "true".to_owned()));
            }
            let tokens: Vec<TokenView> = client.get("api/v1/tokens", &q).await?;
            output::print(json, &tokens, TOKEN_HEADER, token_rows(&tokens));
        }
        TokensCommand::Create {
            name,
            expires_in_days,
            user,
        } => {
            let body = CreateToken {
                name,
                expires_in_days,
                user,
            };
            let created: CreatedToken = client
                .send(Method::POST, "api/v1/tokens", &[], Some(&body))
                .await?;
            if json {
                output::print(true, &created, &[], vec![]);
            } else {
                crate::outln!("{}", created.token);
                eprintln!(
                    "token {} for {} created; this is the only time its text is shown",
                    created.meta.prefix, created.meta.user
                );
            }
        }
        TokensCommand::Revoke { id } => {
            let t: TokenView = client
                .send::<(), _>(Method::DELETE, &format!("api/v1/tokens/{id}"), &[], None)
                .await?;
            let rows = token_rows(std::slice::from_ref(&t));
            output::print(json, &t, TOKEN_HEADER, rows);
        }
    }
    Ok(())
}

pub async fn audit(client: &Client, cmd: AuditCommand, json: bool) -> anyhow::Result<()> {
    let AuditCommand::List {
        actor,
        action,
        object_type,
        object_id,
        since,
        before,
        limit,
    } = cmd;
    let mut q: Vec<(&str, String)> = vec![("limit", limit.to_string())];
    for (k, v) in [
        ("actor", actor),
        ("action", action),
        ("object_type", object_type),
        ("object_id", object_id),
        ("since", since),
        ("before", before.map(|b| b.to_string())),
    ] {
        if let Some(v) = v {
            q.push((k, v));
        }
    }
    let page: Page<AuditEntry> = client.get("api/v1/audit", &q).await?;
    let rows = page
        .items
        .iter()
        .map(|e| {
            vec![
                e.id.to_string(),
                output::time(Some(e.at)),
                e.actor.clone(),
                e.action.clone(),
                format!("{}:{}", e.object_type, e.object_id),
                e.source_ip.clone().unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    output::print(
        json,
        &page,
        &["ID", "AT", "ACTOR", "ACTION", "OBJECT", "FROM"],
        rows,
    );
    if !json {
        if let Some(next) = page.next_before {
            eprintln!("more entries: add --before {next}");
        }
    }
    Ok(())
}
