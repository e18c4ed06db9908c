//! The demo's deliberation: verified residents of 东华门街道多福巷社区, topics in every state of
//! the loop, a finished micro-project call for each winner rule with a few hundred ballots, an
//! open call, an open consultation and a drawn panel — all through the module's own commands,
//! at the moments they would have happened.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use gongzhi_core::db::Db;
use gongzhi_core::identity::{self, Actor, ActorKind, Assignment, NewUser, Role};
use gongzhi_core::privacy::Sealer;
use gongzhi_core::time::format_ms;
use gongzhi_core::Result;
use gongzhi_deliberation::rules::{TopicStep, VoteRules};
use gongzhi_deliberation::{budgets, consultations, panels, residents, topics};

/// The demo community (its grid worker, council member and resident work here).
pub const COMMUNITY: &str = "110101001001";
const DAY: i64 = 86_400_000;
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙",
];
const GIVEN: &[&str] = &[
    "秀英", "桂兰", "建华", "志强", "丽娟", "海燕", "国庆", "玉兰", "文博", "子涵",
];

fn as_user(id: &str, username: &str, role: Role) -> Actor {
    Actor {
        kind: ActorKind::User,
        user_id: Some(id.into()),
        username: username.into(),
        assignments: vec![Assignment {
            role,
            area: (role != Role::Resident).then(|| COMMUNITY.to_string()),
            unit: None,
        }],
    }
}

async fn user_id(db: &Db, name: &str) -> Result<String> {
    identity::user_id_by_name(db, name)
        .await?
        .ok_or_else(|| gongzhi_core::Error::internal(format!("demo user {name} missing")))
}

/// Seeds the demo's deliberation with `voters` verified residents (plus the demo resident).
pub async fn seed(db: &Db, sealer: &Sealer, voters: usize) -> Result<()> {
    let system = Actor::system("demo-seed");
    let now = gongzhi_core::time::now_ms();
    let council = as_user(&user_id(db, "council").await?, "council", Role::Council);
    let mut rng = StdRng::seed_from_u64(2026);
    let compounds = ["多福巷小区", "南池子小区", "韶九胡同小区"];
    let mut people: Vec<Actor> = Vec::new();
    for i in 0..voters {
        let username = format!("resident{:03}", i + 1);
        let name = format!(
            "{}{}",
            SURNAMES[i % SURNAMES.len()],
            GIVEN[(i / SURNAMES.len()) % GIVEN.len()]
        );
        let id = identity::create_user(
            db,
            sealer,
            &system,
            &NewUser {
                username: username.clone(),
                password: format!("{username}-demo"),
                assignments: vec![Assignment::global(Role::Resident)],
                full_name: Some(name),
                phone: Some(format!("1390000{:04}", i + 1)),
                email: None,
            },
        )
        .await?;
        let place = format!("{}/{}号楼", compounds[i % 3], 1 + i % 6);
        residents::record(
            db,
            &council,
            &id,
            COMMUNITY,
            &place,
            residents::VerificationMethod::Registry,
            None,
            now - 90 * DAY,
        )
        .await?;
        people.push(as_user(&id, &username, Role::Resident));
    }
    let me = user_id(db, "resident").await?;
    residents::record(
        db,
        &council,
        &me,
        COMMUNITY,
        "多福巷小区/3号楼",
        residents::VerificationMethod::Registry,
        None,
        now - 90 * DAY,
    )
    .await?;
    let resident = as_user(&me, "resident", Role::Resident);
    let grid = as_user(
        &user_id(db, "gridworker").await?,
        "gridworker",
        Role::GridWorker,
    );

    // Topics: one done (with its vote), one voting now, one in deliberation, one just raised.
    let raise = |title: &str, body: &str, level, place: &str| topics::NewTopic {
        title: title.into(),
        body: body.into(),
        level,
        area: COMMUNITY.into(),
        place: place.into(),
    };
    let none = topics::StepInput::default;
    let (done, _) = topics::create(
        db,
        &people[0],
        &raise(
            "多福巷小区加装电梯",
            "3号楼和5号楼老人多，上下楼困难，建议申请加装电梯，费用按楼层分摊。",
            topics::TopicLevel::Compound,
            "多福巷小区",
        ),
        now - 60 * DAY,
    )
    .await?;
    topics::step(
        db,
        sealer,
        &council,
        &done,
        TopicStep::Accept,
        &none(),
        now - 59 * DAY,
    )
    .await?;
    for (i, (stance, body)) in [
        (topics::Stance::For, "支持，家里老人下楼太难了。"),
        (topics::Stance::Against, "一楼住户受影响，采光怎么办？"),
        (topics::Stance::Neutral, "费用分摊方案请先公示。"),
    ]
    .iter()
    .enumerate()
    {
        topics::comment(
            db,
            sealer,
            &people[i * 3],
            &done,
            &topics::NewComment {
                stance: *stance,
                body: (*body).into(),
                parent_id: None,
            },
            now - 58 * DAY,
        )
        .await?;
    }
    topics::step(
        db,
        sealer,
        &council,
        &done,
        TopicStep::ScheduleMeeting,
        &topics::StepInput {
            mode: Some(topics::MeetingMode::Offline),
            starts_at: Some(format_ms(now - 55 * DAY)),
            place: Some("多福巷社区议事厅".into()),
            ..none()
        },
        now - 57 * DAY,
    )
    .await?;
    let rules = VoteRules {
        quorum: 0.5,
        pass_threshold: 0.5,
        opens_at: format_ms(now - 50 * DAY),
        closes_at: format_ms(now - 43 * DAY),
        secret: true,
    };
    topics::step(
        db,
        sealer,
        &council,
        &done,
        TopicStep::OpenVote,
        &topics::StepInput {
            rules: Some(rules),
            ..none()
        },
        now - 50 * DAY,
    )
    .await?;
    let compound: Vec<&Actor> = people
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 0)
        .map(|(_, a)| a)
        .collect();
    for (i, a) in compound.iter().enumerate() {
        if i % 5 == 4 {
            continue; // some never vote
        }
        let choice = if i % 4 == 3 {
            topics::Choice::No
        } else if i % 7 == 6 {
            topics::Choice::Abstain
        } else {
            topics::Choice::Yes
        };
        topics::vote(
            db,
            sealer,
            a,
            &done,
            choice,
            now - 49 * DAY + i as i64 * 60_000,
        )
        .await?;
    }
    topics::step(
        db,
        sealer,
        &council,
        &done,
        TopicStep::CloseVote,
        &none(),
        now - 43 * DAY,
    )
    .await?;
    topics::step(
        db,
        sealer,
        &council,
        &done,
        TopicStep::Publish,
        &topics::StepInput {
            resolution: Some(
                "同意为3号楼、5号楼申请加装电梯，费用按楼层系数分摊，一楼住户给予补偿。".into(),
            ),
            objection_days: Some(7),
            ..none()
        },
        now - 42 * DAY,
    )
    .await?;
    topics::step(
        db,
        sealer,
        &council,
        &done,
        TopicStep::Execute,
        &none(),
        now - 34 * DAY,
    )
    .await?;
    topics::step(
        db,
        sealer,
        &council,
        &done,
        TopicStep::AddTask,
        &topics::StepInput {
            title: Some("向街道提交加装电梯申请".into()),
            owner: Some("社区居委会".into()),
            ..none()
        },
        now - 33 * DAY,
    )
    .await?;
    let v = topics::view(db, sealer, &council, &done).await?;
    topics::step(
        db,
        sealer,
        &council,
        &done,
        TopicStep::Progress,
        &topics::StepInput {
            task_id: Some(v.tasks[0].id.clone()),
            progress: Some(100),
            note: Some("申请已获批复".into()),
            ..none()
        },
        now - 10 * DAY,
    )
    .await?;
    topics::step(
        db,
        sealer,
        &council,
        &done,
        TopicStep::Complete,
        &none(),
        now - 9 * DAY,
    )
    .await?;

    let (voting, _) = topics::create(
        db,
        &people[3],
        &raise(
            "多福巷小区夜间停车管理",
            "外来车辆夜间占用消防通道，建议实行夜间停车登记。",
            topics::TopicLevel::Compound,
            "多福巷小区",
        ),
        now - 20 * DAY,
    )
    .await?;
    topics::step(
        db,
        sealer,
        &council,
        &voting,
        TopicStep::Accept,
        &none(),
        now - 19 * DAY,
    )
    .await?;
    topics::comment(
        db,
        sealer,
        &people[6],
        &voting,
        &topics::NewComment {
            stance: topics::Stance::For,
            body: "同意，消防通道必须畅通。".into(),
            parent_id: None,
        },
        now - 18 * DAY,
    )
    .await?;
    let rules = VoteRules {
        quorum: 0.5,
        pass_threshold: 0.5,
        opens_at: format_ms(now - 2 * DAY),
        closes_at: format_ms(now + 5 * DAY),
        secret: true,
    };
    topics::step(
        db,
        sealer,
        &council,
        &voting,
        TopicStep::OpenVote,
        &topics::StepInput {
            rules: Some(rules),
            ..none()
        },
        now - 2 * DAY,
    )
    .await?;
    for (i, a) in people
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 0)
        .take(12)
    {
        topics::vote(
            db,
            sealer,
            a,
            &voting,
            if i % 5 == 0 {
                topics::Choice::No
            } else {
                topics::Choice::Yes
            },
            now - DAY,
        )
        .await?;
    }

    let (talking, _) = topics::create(
        db,
        &grid,
        &raise(
            "社区活动室开放时间",
            "居民反映活动室周末不开放，建议调整开放时间并招募志愿者值守。",
            topics::TopicLevel::Community,
            "",
        ),
        now - 6 * DAY,
    )
    .await?;
    topics::step(
        db,
        sealer,
        &council,
        &talking,
        TopicStep::Accept,
        &none(),
        now - 5 * DAY,
    )
    .await?;
    topics::comment(
        db,
        sealer,
        &people[2],
        &talking,
        &topics::NewComment {
            stance: topics::Stance::For,
            body: "周末孩子们需要活动场地。".into(),
            parent_id: None,
        },
        now - 4 * DAY,
    )
    .await?;
    topics::step(
        db,
        sealer,
        &council,
        &talking,
        TopicStep::ScheduleMeeting,
        &topics::StepInput {
            mode: Some(topics::MeetingMode::Online),
            starts_at: Some(format_ms(now + 3 * DAY)),
            place: Some("线上会议（社区微信群视频）".into()),
            ..none()
        },
        now - 3 * DAY,
    )
    .await?;
    topics::create(
        db,
        &resident,
        &raise(
            "3号楼楼道堆物清理",
            "楼道里堆放杂物，存在消防隐患，建议统一清理。",
            topics::TopicLevel::Building,
            "多福巷小区/3号楼",
        ),
        now - DAY,
    )
    .await?;

    // Micro-project calls: two finished (one per winner rule) and one taking proposals.
    let ideas: &[(&str, i64)] = &[
        ("楼道照明改造", 45_000),
        ("健身器材更新", 68_000),
        ("老年餐桌", 80_000),
        ("垃圾分类驿站", 52_000),
        ("非机动车棚加装充电桩", 90_000),
        ("口袋花园", 60_000),
        ("无障碍坡道", 30_000),
        ("儿童游乐设施", 75_000),
    ];
    for (n, (rule, ballot, budget)) in [
        (
            budgets::WinnerRule::Greedy,
            budgets::BallotKind::Approval,
            200_000i64,
        ),
        (
            budgets::WinnerRule::EqualShares,
            budgets::BallotKind::Knapsack,
            180_000,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let start = now - (100 - 30 * n as i64) * DAY;
        let call = budgets::create(
            db,
            &council,
            &budgets::NewCall {
                title: format!("多福巷社区2026年民生微实事（第{}批）", ["一", "二"][n]),
                description: "居民提出、议事会审核、居民投票，按规则计算入选项目。".into(),
                area: COMMUNITY.into(),
                place: String::new(),
                budget,
                ballot,
                max_approvals: (ballot == budgets::BallotKind::Approval).then_some(3),
                rule,
                completion: Some(budgets::Completion::Add1ThenGreedy),
                proposing_from: format_ms(start),
                reviewing_from: format_ms(start + 10 * DAY),
                voting_from: format_ms(start + 15 * DAY),
                voting_until: format_ms(start + 22 * DAY),
                implementing_from: format_ms(start + 25 * DAY),
            },
            start,
        )
        .await?;
        let mut ids = Vec::new();
        for (i, (title, cost)) in ideas.iter().enumerate() {
            let p = budgets::add_project(
                db,
                &people[(i * 7 + n) % people.len()],
                &call,
                &budgets::NewProject {
                    title: (*title).into(),
                    description: format!("{title}：由居民提出，费用为估算。"),
                    cost_estimate: *cost,
                },
                start + DAY,
            )
            .await?;
            let feasible = i != 4;
            budgets::review_project(
                db,
                &council,
                &call,
                &p,
                &budgets::ReviewInput {
                    feasible,
                    cost: Some(cost + if i % 2 == 0 { 2_000 } else { -1_000 }),
                    note: (!feasible)
                        .then(|| "现有电力容量不足，需供电部门改造后另行立项。".to_string()),
                },
                start + 12 * DAY,
            )
            .await?;
            if feasible {
                ids.push((p, cost + if i % 2 == 0 { 2_000 } else { -1_000 }));
            }
        }
        // Residents favour a few projects; each ballot follows the call's rules.
        let weights = [5, 3, 4, 2, 6, 4, 2];
        for (v, a) in people.iter().enumerate() {
            let mut picks: Vec<usize> = Vec::new();
            for (k, w) in weights.iter().enumerate() {
                if rng.gen_range(0..10) < *w {
                    picks.push(k);
                }
            }
            if picks.is_empty() {
                picks.push(v % ids.len());
            }
            if ballot == budgets::BallotKind::Approval {
                picks.truncate(3);
            } else {
                let mut total = 0;
                picks.retain(|k| {
                    total += ids[*k].1;
                    total <= budget
                });
            }
            let list = picks.iter().map(|k| ids[*k].0.clone()).collect();
            budgets::cast(
                db,
                sealer,
                a,
                &call,
                &budgets::BallotInput { projects: list },
                start + 16 * DAY + v as i64 * 60_000,
            )
            .await?;
        }
        let results = budgets::compute(db, sealer, &call, now).await?;
        for (code, pct) in results.winners.iter().zip([100, 60, 30, 10]) {
            let project = budgets::view(db, &council, &call, now)
                .await?
                .projects
                .into_iter()
                .find(|p| &p.code == code);
            if let Some(project) = project {
                budgets::record_progress(
                    db,
                    sealer,
                    &council,
                    &call,
                    &project.id,
                    &budgets::ProgressInput {
                        progress: pct,
                        note: Some(if pct == 100 {
                            "已完工验收".into()
                        } else {
                            "施工中".into()
                        }),
                        photos: vec![],
                    },
                    now,
                )
                .await?;
            }
        }
    }
    budgets::create(
        db,
        &council,
        &budgets::NewCall {
            title: "多福巷社区2027年民生微实事征集".into(),
            description: "欢迎居民提出身边的小项目。".into(),
            area: COMMUNITY.into(),
            place: String::new(),
            budget: 150_000,
            ballot: budgets::BallotKind::Approval,
            max_approvals: Some(3),
            rule: budgets::WinnerRule::EqualShares,
            completion: Some(budgets::Completion::Add1ThenGreedy),
            proposing_from: format_ms(now - 3 * DAY),
            reviewing_from: format_ms(now + 20 * DAY),
            voting_from: format_ms(now + 30 * DAY),
            voting_until: format_ms(now + 40 * DAY),
            implementing_from: format_ms(now + 45 * DAY),
        },
        now - 3 * DAY,
    )
    .await?;

    consultations::create(db, &council, &consultations::NewConsultation {
        title: "多福巷小区停车位划线征询".into(),
        description: "小区拟在东侧空地划设停车位，请您发表意见。".into(),
        area: COMMUNITY.into(),
        place: "多福巷小区".into(),
        opens_at: format_ms(now - 2 * DAY),
        closes_at: format_ms(now + 12 * DAY),
        questions: serde_json::from_value(json!([
            {"kind": "single", "text": "您是否同意在东侧空地划设停车位？", "options": ["同意", "不同意", "无所谓"]},
            {"kind": "multiple", "text": "您希望优先考虑哪些车辆？", "options": ["本小区居民车辆", "残障人士车辆", "访客车辆"]},
            {"kind": "scale", "text": "您对目前停车秩序的满意度（1–5）", "min": 1, "max": 5},
            {"kind": "text", "text": "其他意见或建议"}
        ])).map_err(gongzhi_core::Error::internal)?,
    }).await?;

    let candidates: Vec<String> = (0..voters.min(40))
        .map(|i| {
            format!(
                "{} {}",
                gongzhi_core::privacy::mask_name(&format!(
                    "{}{}",
                    SURNAMES[i % SURNAMES.len()],
                    GIVEN[(i / SURNAMES.len()) % GIVEN.len()]
                )),
                format!("{}号楼", 1 + i % 6)
            )
        })
        .collect();
    let panel = panels::create(
        db,
        sealer,
        &council,
        &panels::NewPanel {
            title: "多福巷社区议事会居民代表（2027年）".into(),
            area: COMMUNITY.into(),
            seats: 7,
            candidates: candidates
                .into_iter()
                .enumerate()
                .map(|(i, c)| format!("{:02} {c}", i + 1))
                .collect(),
        },
    )
    .await?;
    panels::make_draw(db, sealer, &council, &panel).await?;
    Ok(())
}
