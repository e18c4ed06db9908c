//! The deliberation module's demo: its roles' users, verified residents of 东华门街道多福巷社区,
//! topics in every state of the loop, a finished micro-project call for each winner rule with
//! a few hundred ballots, an open call, an open consultation and a drawn panel — all through
//! the module's own commands, at the moments they would have happened.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use gongzhi_core::db::Db;
use gongzhi_core::demo::{Demo, DemoUser};
use gongzhi_core::identity::{self, Actor, ActorKind, Assignment, NewUser, Role};
use gongzhi_core::privacy::Sealer;
use gongzhi_core::time::format_ms;
use gongzhi_core::Result;

use crate::rules::{TopicStep, VoteRules};
use crate::{budgets, consultations, panels, residents, topics};

/// The demo community (its grid worker, council member and resident work here).
pub const COMMUNITY: &str = "110101001001";
const DAY: i64 = 86_400_000;
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙",
];
const GIVEN: &[&str] = &[
    "秀英", "桂兰", "建华", "志强", "丽娟", "海燕", "国庆", "玉兰", "文博", "子涵",
];

/// One user for each of the module's roles, with fixed demo passwords (printed at start).
pub const USERS: &[DemoUser] = &[
    DemoUser {
        username: "council",
        password: "council-demo",
        role: crate::roles::COUNCIL,
        area: Some(COMMUNITY),
        unit: None,
        name: "孙慧",
        phone: "13800000008",
    },
    DemoUser {
        username: "moderator",
        password: "moderator-demo",
        role: crate::roles::MODERATOR,
        area: Some("110101001"),
        unit: None,
        name: "周敏",
        phone: "13800000009",
    },
];

/// Seeds the community's deliberation with `demo.size.people` verified residents (plus the
/// demo resident); with none, nothing.
pub async fn seed(demo: &Demo<'_>) -> Result<Vec<String>> {
    if demo.size.people > 0 {
        let community = Community::verify(demo).await?;
        community.topics().await?;
        community.budgets().await?;
        community.consultation().await?;
        community.panel().await?;
    }
    Ok(vec![])
}

fn as_user(id: &str, username: &str, role: Role) -> Actor {
    Actor {
        kind: ActorKind::User,
        user_id: Some(id.into()),
        username: username.into(),
        assignments: vec![Assignment {
            role,
            area: (role != Role::RESIDENT).then(|| COMMUNITY.to_string()),
            unit: None,
        }],
    }
}

/// A user the platform's or another module's demo made (reached through identity, not tables).
async fn user_id(db: &Db, name: &str) -> Result<String> {
    identity::user_id_by_name(db, name)
        .await?
        .ok_or_else(|| gongzhi_core::Error::internal(format!("demo user {name} missing")))
}

fn person_name(i: usize) -> String {
    format!(
        "{}{}",
        SURNAMES[i % SURNAMES.len()],
        GIVEN[(i / SURNAMES.len()) % GIVEN.len()]
    )
}

/// The demo community's people, as the seed's steps act for them.
struct Community<'a> {
    db: &'a Db,
    sealer: &'a Sealer,
    now: i64,
    council: Actor,
    grid: Actor,
    resident: Actor,
    /// The generated verified residents, in order.
    people: Vec<Actor>,
}

impl<'a> Community<'a> {
    /// Makes the generated residents and verifies them and the demo resident for the community.
    async fn verify(demo: &Demo<'a>) -> Result<Community<'a>> {
        let (db, now) = (demo.db, demo.now_ms);
        let system = demo.actor();
        let council = as_user(
            &user_id(db, "council").await?,
            "council",
            crate::roles::COUNCIL,
        );
        let compounds = ["多福巷小区", "南池子小区", "韶九胡同小区"];
        let mut people = Vec::with_capacity(demo.size.people);
        for i in 0..demo.size.people {
            let username = format!("resident{:03}", i + 1);
            let id = identity::create_user(
                db,
                demo.sealer,
                &system,
                &NewUser {
                    username: username.clone(),
                    password: format!("{username}-demo"),
                    assignments: vec![Assignment::global(Role::RESIDENT)],
                    full_name: Some(person_name(i)),
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
                crate::model::residents::VerificationMethod::from_input("method", "registry")?,
                None,
                now - 90 * DAY,
            )
            .await?;
            people.push(as_user(&id, &username, Role::RESIDENT));
        }
        let me = user_id(db, "resident").await?;
        residents::record(
            db,
            &council,
            &me,
            COMMUNITY,
            "多福巷小区/3号楼",
            crate::model::residents::VerificationMethod::from_input("method", "registry")?,
            None,
            now - 90 * DAY,
        )
        .await?;
        let grid = as_user(
            &user_id(db, "gridworker").await?,
            "gridworker",
            Role::GRID_WORKER,
        );
        Ok(Community {
            db,
            sealer: demo.sealer,
            now,
            council,
            grid,
            resident: as_user(&me, "resident", Role::RESIDENT),
            people,
        })
    }

    /// The `i`-th generated resident (wrapping round a small demo).
    fn person(&self, i: usize) -> &Actor {
        &self.people[i % self.people.len()]
    }

    /// The council takes `step` on `topic` at `at`.
    async fn step(
        &self,
        topic: &str,
        step: TopicStep,
        input: topics::StepInput,
        at: i64,
    ) -> Result<()> {
        topics::step(self.db, self.sealer, &self.council, topic, step, &input, at).await?;
        Ok(())
    }

    async fn comment(
        &self,
        by: &Actor,
        topic: &str,
        stance: &str,
        body: &str,
        at: i64,
    ) -> Result<()> {
        topics::comment(
            self.db,
            self.sealer,
            by,
            topic,
            &topics::NewComment {
                stance: crate::model::topics::Stance::from_input("stance", stance)?,
                body: body.into(),
                parent_id: None,
            },
            at,
        )
        .await?;
        Ok(())
    }

    async fn raise(
        &self,
        by: &Actor,
        (title, body): (&str, &str),
        level: topics::TopicLevel,
        place: &str,
        at: i64,
    ) -> Result<String> {
        let new = topics::NewTopic {
            title: title.into(),
            body: body.into(),
            level,
            area: COMMUNITY.into(),
            place: place.into(),
        };
        Ok(topics::create(self.db, by, &new, at).await?.0)
    }

    /// Topics: one done (with its vote), one voting now, one in deliberation, one just raised.
    async fn topics(&self) -> Result<()> {
        let done = self.lift_topic().await?;
        self.lift_vote(&done).await?;
        self.lift_outcome(&done).await?;
        self.parking_topic().await?;
        self.room_topic().await?;
        let now = self.now;
        self.raise(
            &self.resident,
            (
                "3号楼楼道堆物清理",
                "楼道里堆放杂物，存在消防隐患，建议统一清理。",
            ),
            topics::TopicLevel::Building,
            "多福巷小区/3号楼",
            now - DAY,
        )
        .await?;
        Ok(())
    }

    /// The lift: raised, accepted, discussed and met on, two months ago.
    async fn lift_topic(&self) -> Result<String> {
        let now = self.now;
        let done = self
            .raise(
                self.person(0),
                (
                    "多福巷小区加装电梯",
                    "3号楼和5号楼老人多，上下楼困难，建议申请加装电梯，费用按楼层分摊。",
                ),
                topics::TopicLevel::Compound,
                "多福巷小区",
                now - 60 * DAY,
            )
            .await?;
        self.step(&done, TopicStep::Accept, Default::default(), now - 59 * DAY)
            .await?;
        for (i, (stance, body)) in [
            ("for", "支持，家里老人下楼太难了。"),
            ("against", "一楼住户受影响，采光怎么办？"),
            ("neutral", "费用分摊方案请先公示。"),
        ]
        .iter()
        .enumerate()
        {
            self.comment(self.person(i * 3), &done, stance, body, now - 58 * DAY)
                .await?;
        }
        let meeting = topics::StepInput {
            mode: Some(crate::model::topics::MeetingMode::from_input(
                "mode", "offline",
            )?),
            starts_at: Some(format_ms(now - 55 * DAY)),
            place: Some("多福巷社区议事厅".into()),
            ..Default::default()
        };
        self.step(&done, TopicStep::ScheduleMeeting, meeting, now - 57 * DAY)
            .await?;
        Ok(done)
    }

    /// The lift's secret vote among the compound's residents, some never voting.
    async fn lift_vote(&self, done: &str) -> Result<()> {
        let now = self.now;
        let rules = VoteRules {
            quorum: 0.5,
            pass_threshold: 0.5,
            opens_at: format_ms(now - 50 * DAY),
            closes_at: format_ms(now - 43 * DAY),
            secret: true,
        };
        let open = topics::StepInput {
            rules: Some(rules),
            ..Default::default()
        };
        self.step(done, TopicStep::OpenVote, open, now - 50 * DAY)
            .await?;
        let compound = self.people.iter().enumerate().filter(|(i, _)| i % 3 == 0);
        for (i, (_, a)) in compound.enumerate() {
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
            let at = now - 49 * DAY + i as i64 * 60_000;
            topics::vote(self.db, self.sealer, a, done, choice, at).await?;
        }
        self.step(
            done,
            TopicStep::CloseVote,
            Default::default(),
            now - 43 * DAY,
        )
        .await
    }

    /// The lift's resolution, published, carried out through its one task and completed.
    async fn lift_outcome(&self, done: &str) -> Result<()> {
        let now = self.now;
        let publish = topics::StepInput {
            resolution: Some(
                "同意为3号楼、5号楼申请加装电梯，费用按楼层系数分摊，一楼住户给予补偿。".into(),
            ),
            objection_days: Some(7),
            ..Default::default()
        };
        self.step(done, TopicStep::Publish, publish, now - 42 * DAY)
            .await?;
        self.step(done, TopicStep::Execute, Default::default(), now - 34 * DAY)
            .await?;
        let task = topics::StepInput {
            title: Some("向街道提交加装电梯申请".into()),
            owner: Some("社区居委会".into()),
            ..Default::default()
        };
        self.step(done, TopicStep::AddTask, task, now - 33 * DAY)
            .await?;
        let v = topics::view(self.db, self.sealer, &self.council, done).await?;
        let progress = topics::StepInput {
            task_id: Some(v.tasks[0].id.clone()),
            progress: Some(100),
            note: Some("申请已获批复".into()),
            ..Default::default()
        };
        self.step(done, TopicStep::Progress, progress, now - 10 * DAY)
            .await?;
        self.step(done, TopicStep::Complete, Default::default(), now - 9 * DAY)
            .await
    }

    /// Night parking: voting now, with a dozen ballots in.
    async fn parking_topic(&self) -> Result<()> {
        let now = self.now;
        let voting = self
            .raise(
                self.person(3),
                (
                    "多福巷小区夜间停车管理",
                    "外来车辆夜间占用消防通道，建议实行夜间停车登记。",
                ),
                topics::TopicLevel::Compound,
                "多福巷小区",
                now - 20 * DAY,
            )
            .await?;
        self.step(
            &voting,
            TopicStep::Accept,
            Default::default(),
            now - 19 * DAY,
        )
        .await?;
        self.comment(
            self.person(6),
            &voting,
            "for",
            "同意，消防通道必须畅通。",
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
        let open = topics::StepInput {
            rules: Some(rules),
            ..Default::default()
        };
        self.step(&voting, TopicStep::OpenVote, open, now - 2 * DAY)
            .await?;
        let compound = self.people.iter().enumerate().filter(|(i, _)| i % 3 == 0);
        for (i, a) in compound.take(12) {
            let choice = if i % 5 == 0 {
                topics::Choice::No
            } else {
                topics::Choice::Yes
            };
            topics::vote(self.db, self.sealer, a, &voting, choice, now - DAY).await?;
        }
        Ok(())
    }

    /// The activity room: raised by the grid worker, in deliberation with an online meeting ahead.
    async fn room_topic(&self) -> Result<()> {
        let now = self.now;
        let talking = self
            .raise(
                &self.grid,
                (
                    "社区活动室开放时间",
                    "居民反映活动室周末不开放，建议调整开放时间并招募志愿者值守。",
                ),
                topics::TopicLevel::Community,
                "",
                now - 6 * DAY,
            )
            .await?;
        self.step(
            &talking,
            TopicStep::Accept,
            Default::default(),
            now - 5 * DAY,
        )
        .await?;
        self.comment(
            self.person(2),
            &talking,
            "for",
            "周末孩子们需要活动场地。",
            now - 4 * DAY,
        )
        .await?;
        let meeting = topics::StepInput {
            mode: Some(crate::model::topics::MeetingMode::from_input(
                "mode", "online",
            )?),
            starts_at: Some(format_ms(now + 3 * DAY)),
            place: Some("线上会议（社区微信群视频）".into()),
            ..Default::default()
        };
        self.step(&talking, TopicStep::ScheduleMeeting, meeting, now - 3 * DAY)
            .await
    }

    /// Micro-project calls: two finished (one per winner rule) and one taking proposals.
    async fn budgets(&self) -> Result<()> {
        let mut rng = StdRng::seed_from_u64(2026);
        for (n, (rule, ballot, budget)) in [
            ("greedy", "approval", 200_000i64),
            ("equal_shares", "knapsack", 180_000),
        ]
        .into_iter()
        .enumerate()
        {
            let start = self.now - (100 - 30 * n as i64) * DAY;
            let call = self.finished_call(n, rule, ballot, budget, start).await?;
            let projects = self.projects(n, &call, start).await?;
            self.ballots(&mut rng, &call, &projects, ballot, budget, start)
                .await?;
            self.results(&call).await?;
        }
        self.open_call().await
    }

    async fn finished_call(
        &self,
        n: usize,
        rule: &str,
        ballot: &str,
        budget: i64,
        start: i64,
    ) -> Result<String> {
        budgets::create(
            self.db,
            &self.council,
            &budgets::NewCall {
                title: format!("多福巷社区2026年民生微实事（第{}批）", ["一", "二"][n]),
                description: "居民提出、议事会审核、居民投票，按规则计算入选项目。".into(),
                area: COMMUNITY.into(),
                place: String::new(),
                budget,
                ballot: crate::model::budgets::BallotKind::from_input("ballot", ballot)?,
                max_approvals: (ballot == "approval").then_some(3),
                rule: crate::model::budgets::WinnerRule::from_input("rule", rule)?,
                completion: Some(crate::model::budgets::Completion::from_input(
                    "completion",
                    "add1_then_greedy",
                )?),
                proposing_from: format_ms(start),
                reviewing_from: format_ms(start + 10 * DAY),
                voting_from: format_ms(start + 15 * DAY),
                voting_until: format_ms(start + 22 * DAY),
                implementing_from: format_ms(start + 25 * DAY),
            },
            start,
        )
        .await
    }

    /// The residents' eight ideas, reviewed by the council (one found infeasible); returns the
    /// feasible projects with their reviewed costs.
    async fn projects(&self, n: usize, call: &str, start: i64) -> Result<Vec<(String, i64)>> {
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
        let mut ids = Vec::new();
        for (i, (title, cost)) in ideas.iter().enumerate() {
            let p = budgets::add_project(
                self.db,
                self.person(i * 7 + n),
                call,
                &budgets::NewProject {
                    title: (*title).into(),
                    description: format!("{title}：由居民提出，费用为估算。"),
                    cost_estimate: *cost,
                },
                start + DAY,
            )
            .await?;
            let feasible = i != 4;
            let reviewed = cost + if i % 2 == 0 { 2_000 } else { -1_000 };
            budgets::review_project(
                self.db,
                &self.council,
                call,
                &p,
                &budgets::ReviewInput {
                    feasible,
                    cost: Some(reviewed),
                    note: (!feasible)
                        .then(|| "现有电力容量不足，需供电部门改造后另行立项。".to_string()),
                },
                start + 12 * DAY,
            )
            .await?;
            if feasible {
                ids.push((p, reviewed));
            }
        }
        Ok(ids)
    }

    /// Every resident's ballot: a few favoured projects, each ballot within the call's rules.
    async fn ballots(
        &self,
        rng: &mut StdRng,
        call: &str,
        ids: &[(String, i64)],
        ballot: &str,
        budget: i64,
        start: i64,
    ) -> Result<()> {
        let weights = [5, 3, 4, 2, 6, 4, 2];
        for (v, a) in self.people.iter().enumerate() {
            let mut picks: Vec<usize> = Vec::new();
            for (k, w) in weights.iter().enumerate() {
                if rng.gen_range(0..10) < *w {
                    picks.push(k);
                }
            }
            if picks.is_empty() {
                picks.push(v % ids.len());
            }
            if ballot == "approval" {
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
                self.db,
                self.sealer,
                a,
                call,
                &budgets::BallotInput { projects: list },
                start + 16 * DAY + v as i64 * 60_000,
            )
            .await?;
        }
        Ok(())
    }

    /// The call's results, and its winners' progress (the first done, the others under way).
    async fn results(&self, call: &str) -> Result<()> {
        let (db, now) = (self.db, self.now);
        let results = budgets::compute(db, self.sealer, call, now).await?;
        for (code, pct) in results.winners.iter().zip([100, 60, 30, 10]) {
            let project = budgets::view(db, &self.council, call, now)
                .await?
                .projects
                .into_iter()
                .find(|p| &p.code == code);
            let Some(project) = project else { continue };
            let note = if pct == 100 {
                "已完工验收"
            } else {
                "施工中"
            };
            budgets::record_progress(
                db,
                self.sealer,
                &self.council,
                call,
                &project.id,
                &budgets::ProgressInput {
                    progress: pct,
                    note: Some(note.into()),
                    photos: vec![],
                },
                now,
            )
            .await?;
        }
        Ok(())
    }

    /// Next year's call, taking proposals.
    async fn open_call(&self) -> Result<()> {
        let now = self.now;
        budgets::create(
            self.db,
            &self.council,
            &budgets::NewCall {
                title: "多福巷社区2027年民生微实事征集".into(),
                description: "欢迎居民提出身边的小项目。".into(),
                area: COMMUNITY.into(),
                place: String::new(),
                budget: 150_000,
                ballot: crate::model::budgets::BallotKind::from_input("ballot", "approval")?,
                max_approvals: Some(3),
                rule: crate::model::budgets::WinnerRule::from_input("rule", "equal_shares")?,
                completion: Some(crate::model::budgets::Completion::from_input(
                    "completion",
                    "add1_then_greedy",
                )?),
                proposing_from: format_ms(now - 3 * DAY),
                reviewing_from: format_ms(now + 20 * DAY),
                voting_from: format_ms(now + 30 * DAY),
                voting_until: format_ms(now + 40 * DAY),
                implementing_from: format_ms(now + 45 * DAY),
            },
            now - 3 * DAY,
        )
        .await?;
        Ok(())
    }

    /// An open consultation on parking spaces.
    async fn consultation(&self) -> Result<()> {
        let now = self.now;
        let questions = serde_json::from_value(json!([
            {"kind": "single", "text": "您是否同意在东侧空地划设停车位？", "options": ["同意", "不同意", "无所谓"]},
            {"kind": "multiple", "text": "您希望优先考虑哪些车辆？", "options": ["本小区居民车辆", "残障人士车辆", "访客车辆"]},
            {"kind": "scale", "text": "您对目前停车秩序的满意度（1–5）", "min": 1, "max": 5},
            {"kind": "text", "text": "其他意见或建议"}
        ]))
        .map_err(gongzhi_core::Error::internal)?;
        let new = consultations::NewConsultation {
            title: "多福巷小区停车位划线征询".into(),
            description: "小区拟在东侧空地划设停车位，请您发表意见。".into(),
            area: COMMUNITY.into(),
            place: "多福巷小区".into(),
            opens_at: format_ms(now - 2 * DAY),
            closes_at: format_ms(now + 12 * DAY),
            questions,
        };
        consultations::create(self.db, &self.council, &new).await?;
        Ok(())
    }

    /// Next year's council panel, drawn from up to 40 candidates.
    async fn panel(&self) -> Result<()> {
        let candidates: Vec<String> = (0..self.people.len().min(40))
            .map(|i| {
                let masked = gongzhi_core::privacy::mask_name(&person_name(i));
                format!("{:02} {masked} {}号楼", i + 1, 1 + i % 6)
            })
            .collect();
        let panel = panels::create(
            self.db,
            self.sealer,
            &self.council,
            &panels::NewPanel {
                title: "多福巷社区议事会居民代表（2027年）".into(),
                area: COMMUNITY.into(),
                seats: 7,
                candidates,
            },
        )
        .await?;
        panels::make_draw(self.db, self.sealer, &self.council, &panel).await?;
        Ok(())
    }
}
