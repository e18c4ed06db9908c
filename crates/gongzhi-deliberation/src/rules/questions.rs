//! The pure rules of a consultation: well-formed questions, answers that fit them, when it is
//! open, and how the mixed answers are counted. No I/O.

use serde_json::Value;

use crate::model::consultations::{
    ConsultationState, OptionCount, Question, QuestionKind, QuestionResult,
};
use gongzhi_core::{Error, Result};

/// Whether a consultation open from `opens` until `closes` takes answers at `now`.
pub fn state_at(opens: i64, closes: i64, now: i64) -> ConsultationState {
    if now < opens {
        ConsultationState::Upcoming
    } else if now < closes {
        ConsultationState::Open
    } else {
        ConsultationState::Closed
    }
}

/// 1–50 questions, each with a text; choices with two or more options; scales of ≤ 10 steps.
pub fn check_questions(qs: &[Question]) -> Result<()> {
    if qs.is_empty() || qs.len() > 50 {
        return Err(Error::invalid(
            "invalid_questions",
            "a consultation has 1–50 questions",
        ));
    }
    for (i, q) in qs.iter().enumerate() {
        let at = |m: &str| Error::invalid("invalid_questions", format!("question {}: {m}", i + 1));
        if q.text.trim().is_empty() {
            return Err(at("the text is empty"));
        }
        match q.kind {
            QuestionKind::Single | QuestionKind::Multiple => {
                if q.options.len() < 2 || q.options.iter().any(|o| o.trim().is_empty()) {
                    return Err(at("a choice question has at least two non-empty options"));
                }
            }
            QuestionKind::Scale => {
                let (lo, hi) = bounds(q);
                if lo >= hi || (hi as i128 - lo as i128) > 10 {
                    return Err(at("a scale runs from min to max, at most 10 steps"));
                }
            }
            QuestionKind::Text => {}
        }
    }
    Ok(())
}

fn bounds(q: &Question) -> (i64, i64) {
    (q.min.unwrap_or(1), q.max.unwrap_or(5))
}

/// Checks one response against the questions: one answer per question, in the question's form.
pub fn check_answers(qs: &[Question], answers: &[Value]) -> Result<()> {
    if answers.len() != qs.len() {
        return Err(Error::invalid(
            "invalid_answers",
            format!("answer each of the {} questions (null to skip)", qs.len()),
        ));
    }
    for (i, (q, a)) in qs.iter().zip(answers).enumerate() {
        let bad = |m: &str| Error::invalid("invalid_answers", format!("answer {}: {m}", i + 1));
        if a.is_null() {
            continue;
        }
        match q.kind {
            QuestionKind::Single => {
                let k = a.as_u64().ok_or_else(|| bad("the index of one option"))?;
                if k as usize >= q.options.len() {
                    return Err(bad("no such option"));
                }
            }
            QuestionKind::Multiple => {
                let ks = a
                    .as_array()
                    .ok_or_else(|| bad("a list of option indices"))?;
                let mut seen = std::collections::HashSet::new();
                for k in ks {
                    let k = k.as_u64().ok_or_else(|| bad("a list of option indices"))?;
                    if k as usize >= q.options.len() || !seen.insert(k) {
                        return Err(bad("an unknown or repeated option"));
                    }
                }
            }
            QuestionKind::Scale => {
                let v = a
                    .as_i64()
                    .ok_or_else(|| bad("a whole number on the scale"))?;
                let (lo, hi) = bounds(q);
                if v < lo || v > hi {
                    return Err(bad("outside the scale"));
                }
            }
            QuestionKind::Text => {
                let s = a.as_str().ok_or_else(|| bad("text"))?;
                if s.chars().count() > 2000 {
                    return Err(bad("longer than 2000 characters"));
                }
            }
        }
    }
    Ok(())
}

/// Counts the responses (each a list of answers, in question order) per question.
pub fn count(qs: &[Question], responses: &[Value]) -> Vec<QuestionResult> {
    qs.iter()
        .enumerate()
        .map(|(i, q)| {
            let answers: Vec<&Value> = responses
                .iter()
                .filter_map(|a| a.get(i))
                .filter(|a| !a.is_null())
                .collect();
            count_one(q, &answers)
        })
        .collect()
}

fn count_one(q: &Question, answers: &[&Value]) -> QuestionResult {
    let mut r = QuestionResult {
        text: q.text.clone(),
        kind: q.kind,
        answered: answers.len() as i64,
        counts: vec![],
        mean: None,
        texts: vec![],
    };
    match q.kind {
        QuestionKind::Single | QuestionKind::Multiple => {
            let mut c = vec![0i64; q.options.len()];
            for a in answers {
                let picks: Vec<u64> = match a {
                    Value::Array(xs) => xs.iter().filter_map(Value::as_u64).collect(),
                    v => v.as_u64().into_iter().collect(),
                };
                for k in picks {
                    if let Some(n) = c.get_mut(k as usize) {
                        *n += 1;
                    }
                }
            }
            r.counts = q
                .options
                .iter()
                .cloned()
                .zip(c)
                .map(|(label, count)| OptionCount { label, count })
                .collect();
        }
        QuestionKind::Scale => {
            let (lo, hi) = bounds(q);
            let vals: Vec<i64> = answers.iter().filter_map(|a| a.as_i64()).collect();
            r.counts = (lo..=hi)
                .map(|v| OptionCount {
                    label: v.to_string(),
                    count: vals.iter().filter(|x| **x == v).count() as i64,
                })
                .collect();
            r.mean =
                (!vals.is_empty()).then(|| vals.iter().sum::<i64>() as f64 / vals.len() as f64);
        }
        QuestionKind::Text => {
            r.texts = answers
                .iter()
                .filter_map(|a| a.as_str().map(String::from))
                .collect();
            r.texts.sort();
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn questions() -> Vec<Question> {
        let q = |kind, options: &[&str]| Question {
            kind,
            text: "?".into(),
            options: options.iter().map(|s| s.to_string()).collect(),
            min: None,
            max: None,
        };
        vec![
            q(QuestionKind::Single, &["同意", "不同意"]),
            q(QuestionKind::Multiple, &["早", "中", "晚"]),
            q(QuestionKind::Scale, &[]),
            q(QuestionKind::Text, &[]),
        ]
    }

    #[test]
    fn answers_fit_their_questions() {
        let qs = questions();
        assert!(check_questions(&qs).is_ok());
        assert!(check_answers(&qs, &[json!(1), json!([0, 2]), json!(5), json!("好")]).is_ok());
        assert!(check_answers(&qs, &[json!(null), json!(null), json!(null), json!(null)]).is_ok());
        for bad in [
            vec![json!(2), json!([0]), json!(3), json!("x")],
            vec![json!(0), json!([0, 0]), json!(3), json!("x")],
            vec![json!(0), json!([0]), json!(9), json!("x")],
            vec![json!(0)],
        ] {
            assert_eq!(
                check_answers(&qs, &bad).unwrap_err().code(),
                "invalid_answers"
            );
        }
        let mut one_option = qs.clone();
        one_option[0].options.pop();
        assert_eq!(
            check_questions(&one_option).unwrap_err().code(),
            "invalid_questions"
        );
    }

    proptest! {
        /// Every valid response is counted once per question it answers.
        #[test]
        fn counts_add_up(picks in proptest::collection::vec((0u64..2, proptest::collection::btree_set(0u64..3, 0..3), 1i64..=5), 0..30)) {
            let qs = questions();
            let responses: Vec<Value> = picks.iter().map(|(s, m, v)| json!([s, m.iter().collect::<Vec<_>>(), v, "t"])).collect();
            for r in &responses {
                prop_assert!(check_answers(&qs, r.as_array().unwrap()).is_ok());
            }
            let out = count(&qs, &responses);
            let n = responses.len() as i64;
            prop_assert_eq!(out[0].counts.iter().map(|c| c.count).sum::<i64>(), n);
            prop_assert_eq!(out[1].counts.iter().map(|c| c.count).sum::<i64>(), picks.iter().map(|p| p.1.len() as i64).sum::<i64>());
            prop_assert_eq!(out[2].counts.iter().map(|c| c.count).sum::<i64>(), n);
            prop_assert_eq!(out[3].texts.len() as i64, n);
        }
    }
}
