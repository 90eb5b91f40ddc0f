//! Satisfaction surveys as rules: what an answer is, and what makes it
//! valid (a score of 1 to 5, and an optional comment). When a survey may
//! go out is `support::tickets::rules::survey_due`.

use serde::Deserialize;

use crate::platform::text::Paragraphs;

/// A subscriber's answer, from the public page (form or JSON) or the
/// subscriber API.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyAnswer {
    pub score: i32,
    #[serde(default)]
    pub comment: Option<String>,
}

/// Longest comment, in characters.
pub const MAX_COMMENT: usize = 2000;

/// The score and the comment kept (a blank one is none), or why not.
pub fn check_answer(a: SurveyAnswer) -> Result<(i32, Option<String>), String> {
    if !(1..=5).contains(&a.score) {
        return Err("score must be between 1 and 5".into());
    }
    let comment = a.comment.filter(|c| !c.trim().is_empty());
    let comment = match comment {
        Some(c) => Some(Paragraphs::parse("comment", &c, MAX_COMMENT)?.into_string()),
        None => None,
    };
    Ok((a.score, comment))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(score: i32, comment: Option<&str>) -> SurveyAnswer {
        SurveyAnswer {
            score,
            comment: comment.map(str::to_owned),
        }
    }

    #[test]
    fn scores_run_from_one_to_five() {
        assert_eq!(check_answer(answer(5, None)), Ok((5, None)));
        assert!(check_answer(answer(0, None)).is_err());
        assert!(check_answer(answer(6, None)).is_err());
    }

    #[test]
    fn a_blank_comment_is_none_and_a_long_one_refused() {
        assert_eq!(check_answer(answer(4, Some("  "))), Ok((4, None)));
        assert_eq!(
            check_answer(answer(4, Some(" quick fix\nthanks "))),
            Ok((4, Some("quick fix\nthanks".into())))
        );
        let long = "x".repeat(MAX_COMMENT + 1);
        assert!(check_answer(answer(4, Some(&long))).is_err());
    }
}
