//! The pages speak Chinese first and English second: every text is written as a (zh, en) pair
//! where it is used, and the product's words (statuses, steps, kinds, roles) have one table here.

use gongzhi_core::identity::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
    /// The language of a [`Lang::code`]; Chinese for anything else.
    pub fn from_code(code: &str) -> Lang {
        if code == "en" {
            Lang::En
        } else {
            Lang::Zh
        }
    }
    /// Whether the product word has its labels here.
    pub fn knows(w: &str) -> bool {
        WORDS.iter().any(|(k, _, _)| *k == w)
    }
    /// The label of a product word (status, step, kind, channel, role, unit kind), or the word.
    pub fn word(self, w: &str) -> String {
        WORDS
            .iter()
            .find(|(k, _, _)| *k == w)
            .map(|(_, zh, en)| self.t(zh, en).to_string())
            .unwrap_or_else(|| w.to_string())
    }
    pub fn role(self, r: Role) -> String {
        let (zh, en) = gongzhi_core::identity::role_label(r);
        self.t(zh, en).to_string()
    }
}

const WORDS: &[(&str, &str, &str)] = &[
    // statuses
    ("reported", "待受理", "Reported"),
    ("accepted", "已受理", "Accepted"),
    ("filed", "已立案", "Filed"),
    ("dispatched", "已派遣", "Dispatched"),
    ("signed", "处置中", "Being handled"),
    ("reported_back", "待核查", "Reported back"),
    ("verified", "待结案", "Verified"),
    ("closed", "已结案", "Closed"),
    // deliberation
    ("proposed", "待审议", "Proposed"),
    ("deliberating", "议事中", "In deliberation"),
    ("voting", "投票中", "Voting"),
    ("decided", "已表决", "Decided"),
    ("published", "公示中", "Published"),
    ("executing", "落实中", "Being carried out"),
    ("done", "已办结", "Done"),
    ("declined", "未受理", "Declined"),
    ("upcoming", "未开始", "Upcoming"),
    ("proposing", "征集中", "Taking proposals"),
    ("reviewing", "审核中", "Under review"),
    ("result", "结果公布", "Results"),
    ("implementing", "实施中", "Being implemented"),
    ("feasible", "可行", "Feasible"),
    ("unfeasible", "不可行", "Not feasible"),
    ("propose", "提出", "Proposed"),
    ("decline", "不予受理", "Decline"),
    ("schedule_meeting", "安排会议", "Schedule a meeting"),
    ("sign_in", "会议签到", "Sign in to the meeting"),
    ("record_minutes", "记录纪要", "Record the minutes"),
    ("open_vote", "发起表决", "Open the vote"),
    ("close_vote", "结束表决", "Close the vote"),
    ("publish", "公示结果", "Publish"),
    ("object", "提出异议", "Object"),
    ("execute", "开始落实", "Carry out"),
    ("add_task", "添加任务", "Add a task"),
    ("progress", "更新进度", "Progress"),
    ("complete", "办结", "Complete"),
    ("review", "审核", "Review"),
    ("open_call", "发布征集", "Call opened"),
    ("for", "支持", "For"),
    ("against", "反对", "Against"),
    ("neutral", "中立", "Neutral"),
    ("compound", "小区", "Compound"),
    ("building", "楼栋", "Building"),
    ("called_back", "已回访", "Called back"),
    ("on_hold", "挂账", "On hold"),
    ("cancelled", "已作废", "Cancelled"),
    ("merged", "已合并", "Merged"),
    // steps
    ("create", "上报", "Reported"),
    ("accept", "受理", "Accept"),
    ("file", "立案", "File"),
    ("cancel", "作废", "Cancel"),
    ("dispatch", "派遣", "Dispatch"),
    ("sign", "签收", "Sign"),
    ("contact", "联系诉求人", "Contact reporter"),
    ("report_back", "处置反馈", "Report back"),
    ("verify", "核查", "Verify"),
    ("close", "结案", "Close"),
    ("call_back", "回访评价", "Call back"),
    ("return", "退回", "Return"),
    ("extend", "申请延期", "Ask for extension"),
    ("approve_extension", "批准延期", "Approve extension"),
    ("hold", "挂账", "Hold"),
    ("resume", "恢复办理", "Resume"),
    ("supervise", "督办", "Supervise"),
    ("remind", "催办", "Remind"),
    ("reopen", "重办", "Reopen"),
    ("summon", "吹哨报到", "Summon units"),
    ("report_in", "报到", "Report in"),
    ("merge", "合并", "Merge"),
    ("merged_in", "并入案件", "Case merged in"),
    ("made_public", "已公开", "Made public"),
    ("made_private", "已取消公开", "Made private"),
    ("publication", "公开设置", "Publication"),
    ("escalate", "升级", "Escalated"),
    // kinds
    ("inquiry", "咨询", "Inquiry"),
    ("help", "求助", "Help"),
    ("complaint", "投诉", "Complaint"),
    ("report", "举报", "Report"),
    ("suggestion", "建议", "Suggestion"),
    // channels
    ("hotline", "热线", "Hotline"),
    ("web", "网上", "Web"),
    ("patrol", "巡查", "Patrol"),
    ("open311", "Open311", "Open311"),
    ("api", "接口", "API"),
    ("import", "导入", "Import"),
    // satisfaction
    ("satisfied", "满意", "Satisfied"),
    ("basically_satisfied", "基本满意", "Basically satisfied"),
    ("dissatisfied", "不满意", "Dissatisfied"),
    // levels
    ("district", "区", "District"),
    ("street", "街道", "Street"),
    ("community", "社区", "Community"),
    ("grid", "网格", "Grid"),
    ("unit", "单位", "Unit"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_has_both_labels() {
        for (k, zh, en) in WORDS {
            assert!(!zh.is_empty() && !en.is_empty(), "{k}");
        }
        assert_eq!(Lang::from_code(Lang::En.code()), Lang::En);
        assert_eq!(Lang::from_code(Lang::Zh.code()), Lang::Zh);
    }
}
