//! Answering a consultation: a verified resident's one response between its open and close.
//! Who answered is recorded at once; the answers are sealed in the consultation's ballot box
//! until they are mixed with others.

use serde_json::{json, Value};

use crate::ballot_box::BallotBox;
use crate::checks::require_eligible;
use crate::rules::questions::check_answers;
use crate::store::consultations;
use gongzhi_core::audit;
use gongzhi_core::db::Db;
use gongzhi_core::identity::Actor;
use gongzhi_core::privacy::Sealer;
use gongzhi_core::time::format_ms;
use gongzhi_core::{Error, Result};

pub async fn answer_consultation(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    id: &str,
    answers: &[Value],
    now: i64,
) -> Result<()> {
    let c = consultations::find(db, id).await?;
    let user = require_eligible(db, actor, &c.area, &c.place, None).await?;
    if now < c.opens || now >= c.closes {
        return Err(Error::refused(
            "wrong_state",
            format!(
                "the consultation is open from {} until {}",
                format_ms(c.opens),
                format_ms(c.closes)
            ),
        ));
    }
    check_answers(&c.questions, answers)?;
    let mut tx = db.begin_write().await?;
    super::once(
        consultations::add_respondent(&mut tx, id, &user).await,
        "already_answered",
        "you have already answered this consultation",
    )?;
    let ballot_box = BallotBox::consultation(id);
    ballot_box
        .drop_in(
            db,
            &mut tx,
            sealer,
            &Value::Array(answers.to_vec()).to_string(),
        )
        .await?;
    audit::append(
        &mut tx,
        actor,
        "consultation.respond",
        &format!("consultation:{id}"),
        &json!({"respondent": user}),
        None,
    )
    .await?;
    tx.commit().await?;
    ballot_box.settle_after_vote(db, sealer, now).await;
    Ok(())
}
