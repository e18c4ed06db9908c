//! The Open311 module's demo: two service definitions with attributes, and an API key for the
//! demo's clients (shown once, in the demo's notes).

use gongzhi_core::db::Db;
use gongzhi_core::demo::Demo;
use gongzhi_core::identity::Actor;
use gongzhi_core::Result;

use crate::commands::keys::add_key;
use crate::commands::set_attributes::save;
use crate::model::attributes::{Attribute, AttributeValue};

pub async fn seed(demo: &Demo<'_>) -> Result<Vec<String>> {
    let actor = demo.actor();
    definitions(demo.db, &actor).await?;
    let key = add_key(demo.db, &actor, "demo").await?;
    Ok(vec![format!(
        "Open311 API key for the demo (shown once): {key}"
    )])
}

/// Two service definitions, so that clients see attributes at once.
async fn definitions(db: &Db, actor: &Actor) -> Result<()> {
    let v = |k: &str, n: &str| AttributeValue {
        key: k.into(),
        name: n.into(),
    };
    let a = |code: &str,
             datatype: &str,
             required: bool,
             description: &str,
             order: i64,
             values: Vec<AttributeValue>| Attribute {
        code: code.into(),
        datatype: datatype.into(),
        required,
        description: description.into(),
        datatype_description: String::new(),
        order,
        values,
    };
    save(
        db,
        actor,
        "C0101",
        &[
            a(
                "hurt",
                "singlevaluelist",
                true,
                "是否有人受伤 / Is anyone hurt?",
                1,
                vec![v("yes", "是"), v("no", "否")],
            ),
            a(
                "missing",
                "multivaluelist",
                false,
                "缺失部件 / Missing parts",
                2,
                vec![v("lid", "井盖"), v("frame", "井座")],
            ),
        ],
    )
    .await?;
    save(
        db,
        actor,
        "E0503",
        &[
            a(
                "plate",
                "string",
                false,
                "车牌号（可选）/ Plate (optional)",
                1,
                vec![],
            ),
            a(
                "since",
                "datetime",
                false,
                "停放开始时间 / Parked since",
                2,
                vec![],
            ),
        ],
    )
    .await
}
