//! The error catalogue: every stable code an error answers with, its HTTP status, what it says
//! in Chinese and in English, and when it happens. Clients act on the code (the message is for
//! people and may change); pages show the Chinese message first. The OpenAPI document lists
//! these codes (`ErrorCode`), and a test checks that every code written in the workspace's
//! sources is here.

/// One stable error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub code: &'static str,
    pub status: u16,
    pub zh: &'static str,
    pub en: &'static str,
    /// When it happens (for the API's readers).
    pub when: &'static str,
}

const fn e(
    code: &'static str,
    status: u16,
    zh: &'static str,
    en: &'static str,
    when: &'static str,
) -> Entry {
    Entry {
        code,
        status,
        zh,
        en,
        when,
    }
}

/// The codes, by kind: access, request shape, refusals (409), then input checks (400).
pub const CATALOGUE: &[Entry] = &[
    // Who may ask, and whether it exists for them.
    e("unauthenticated", 401, "请先登录", "Sign in first",
      "No token or session, or one that expired or was revoked."),
    e("forbidden", 403, "您没有这项权限", "You may not do this",
      "The caller's roles or scope do not grant the action, or they may not take part here (e.g. not a resident verified for the place)."),
    e("not_found", 404, "没有找到", "Not found",
      "No record with that id — or one outside the caller's scope, which is answered as unknown."),
    e("outside_jurisdiction", 404, "该位置不在辖区内", "The point is outside the jurisdiction",
      "A location that lies in no grid of the deployment."),
    e("rate_limited", 429, "请求过于频繁，请稍后再试", "Too many requests; try again later",
      "Too many sign-in attempts or locate calls from one client."),
    e("overloaded", 503, "服务器繁忙，请稍后再试", "The server is busy; try again shortly",
      "More requests are in flight than `limits.max_in_flight` allows; nothing was done. Retry after the seconds in `Retry-After`."),
    e("internal", 500, "系统出错，已记录", "Something went wrong on our side; it has been logged",
      "A storage failure or a bug; the details are in the server's log, never in the answer."),
    // The shape of the request.
    e("invalid_json", 400, "请求体不是有效的 JSON", "The body is not valid JSON",
      "A syntax error, or nesting deeper than 64 levels."),
    e("invalid_body", 400, "请求体的字段或类型不对", "The body's fields or types are wrong",
      "A missing or unknown field, or a value of the wrong type."),
    e("unknown_value", 422, "取值不在允许的范围内", "A value is not one of those allowed",
      "A field of a closed set (a ballot kind, a winner rule, a status, a stance …) got a value it does not know; nothing was changed. The message names the allowed values."),
    e("invalid_query", 400, "查询参数不对", "The query string is wrong",
      "A query parameter of the wrong type or an unknown one."),
    e("invalid_path", 400, "路径参数不对", "The path is wrong",
      "A path segment that cannot be read (e.g. not valid percent-encoding)."),
    e("method_not_allowed", 405, "不支持该请求方法", "Method not allowed",
      "A method the endpoint does not answer."),
    e("invalid_request", 400, "请求不对", "The request is wrong",
      "Any other refusal of the request's form before it reached the endpoint."),
    e("invalid_action", 400, "没有这个操作", "No such action",
      "The action in `…/actions/{action}` is not one of the record's steps."),
    e("unsupported_media_type", 415, "不支持的内容类型", "Unsupported content type",
      "A body that is not `application/json` where JSON is expected, or an upload that is not a JPEG, PNG, WebP or GIF image."),
    e("payload_too_large", 413, "内容过大", "The body is too large",
      "A body or upload beyond the configured limit."),
    e("invalid_multipart", 400, "表单上传格式不对", "The multipart form is malformed",
      "A multipart upload that cannot be read."),
    e("invalid_form", 400, "表单格式不对", "The form is malformed",
      "A page's form that cannot be read."),
    e("invalid_utf8", 400, "内容不是 UTF-8 文本", "The text is not UTF-8", "A form field that is not UTF-8."),
    e("invalid_encoding", 400, "文件不是 UTF-8 编码", "The file is not UTF-8", "An imported file that is not UTF-8."),
    e("empty_upload", 400, "上传内容为空", "The upload is empty", "An upload without bytes."),
    e("invalid_paging", 400, "分页参数不对", "Paging is out of range", "A page or limit outside its range."),
    e("invalid_page", 400, "页码不对", "The page number is wrong", "A page number below 1 or beyond the last."),
    e("invalid_page_size", 400, "每页条数不对", "The page size is wrong", "Open311: page_size outside 1–1000."),
    e("invalid_limit", 400, "数量上限不对", "The limit is wrong", "A limit that is not a whole number."),
    e("invalid_format", 400, "不支持的导出格式", "Unsupported export format", "An export format other than json, csv or xlsx."),
    e("invalid_idempotency_key", 400, "Idempotency-Key 不对", "The Idempotency-Key is wrong",
      "An Idempotency-Key longer than 200 characters or empty."),
    e("idempotency_key_reused", 422, "此 Idempotency-Key 已用于另一请求", "This Idempotency-Key was used for another request",
      "The same Idempotency-Key sent with a different report; send a new key for a new report."),
    e("code_mismatch", 400, "路径与请求体中的编码不一致", "The code in the path and the body differ",
      "Saving a record whose code in the body differs from the path's."),
    e("too_long", 400, "内容过长", "Too long", "Open311: a description or update id beyond its limit."),
    e("too_many", 400, "数量过多", "Too many", "Open311: more than 100 ids in one query."),
    e("duplicate_update_id", 400, "该更新编号已收到", "This update id was already received",
      "Open311: an update whose update_id was sent before."),
    // Refused now (409): the request is well formed but the record's state does not allow it.
    e("wrong_state", 409, "当前状态下不能进行这一步", "This step is not allowed in the current state",
      "A step outside the record's state machine, phase or time window: a topic step from the wrong status, a vote or consultation not open, a call in another phase, a period for objections not over, a panel not yet drawn, content already hidden."),
    e("lost_race", 409, "记录刚被他人修改，请刷新后重试", "Someone changed it first; reload and try again",
      "Two steps on the same record raced and the other one won."),
    e("stale_version", 409, "您看到的不是最新版本，请刷新后重试", "You acted on an old version; reload and try again",
      "The request names a version of the record older than the stored one."),
    e("already_merged", 409, "已合并到另一条记录", "Already merged into another record",
      "Acting on, or merging, a case that was merged into another."),
    e("already_voted", 409, "您已投过票", "You have already voted",
      "A second ballot by the same resident in a topic's vote or a micro-project call."),
    e("already_answered", 409, "您已答过这次征询", "You have already answered this consultation",
      "A second response by the same resident."),
    e("already_signed_in", 409, "您已签到", "You have already signed in to this meeting",
      "A second sign-in to the same meeting."),
    e("already_verified", 409, "该居民已有有效认证", "This resident is already verified for a place",
      "Verifying a resident who has a current verification; revoke it first."),
    e("already_revoked", 409, "该认证已撤销", "This verification is already revoked",
      "Revoking a verification twice."),
    e("already_reported", 409, "您已举报过", "You have already reported this",
      "A second report of the same content by the same person."),
    e("already_drawn", 409, "已经抽签", "This panel has already been drawn",
      "A second draw of a panel (or a racing one)."),
    e("unusable_code", 409, "认证码无效、已使用或已过期", "This code is unknown, already used or expired",
      "Redeeming a verification code that cannot be used."),
    e("not_a_winner", 409, "该项目未入选", "This project did not win",
      "Recording implementation progress of a project that did not win its call."),
    e("already_contacted", 409, "已联系过诉求人", "The reporter was already contacted",
      "A case's `contact` step taken a second time."),
    e("missing_verification_result", 409, "核查需给出是否通过", "Verification needs a result",
      "A case's `verify` step without `passed: true` or `false`."),
    e("extension_pending", 409, "已有延期申请待批准", "An extension is already waiting for approval",
      "A case's `extend` step while an earlier request is not yet decided."),
    e("no_extension_pending", 409, "没有待批准的延期申请", "No extension is waiting for approval",
      "A case's `approve_extension` step with no extension requested."),
    e("not_reopenable", 409, "只有回访不满意或未解决的案件才能重新办理", "Only a case whose callback was unresolved or dissatisfied is reopened",
      "A case's `reopen` step after a satisfied, resolved callback."),
    e("already_summoned", 409, "该单位已被吹哨", "This unit is already summoned to the case",
      "A case's `summon` step naming a unit already summoned."),
    e("not_summoned", 409, "该单位没有待报到的吹哨", "This unit has no open summons on the case",
      "A case's `report_in` step by a unit not summoned, or one that already reported in."),
    e("merge_into_self", 409, "案件不能并入自身", "A case does not merge into itself",
      "A case's `merge` step naming the case itself as the primary."),
    e("merge_target_closed", 409, "只能并入办理中的案件", "A case merges into an open case",
      "A case's `merge` step into a case that is closed, called back or cancelled."),
    e("already_assigned", 409, "该用户已有此角色（同一范围）", "The user already holds this role with this scope",
      "Granting a role the user holds with exactly the same area and unit; nothing was changed."),
    e("not_assigned", 409, "该用户没有此角色（该范围）", "The user does not hold this role with this scope",
      "Revoking a role the user does not hold with exactly that area and unit; nothing was changed."),
    e("last_admin_role", 409, "这是您在该范围内最后的管理员角色，不能自行移除", "This is your last administrator role for this scope; you cannot remove it yourself",
      "An administrator revoking their own role that administers a scope no other role of theirs covers; another administrator may."),
    e("cannot_disable_self", 409, "不能停用自己的账号", "You cannot disable your own account",
      "Disabling the signed-in user themself; another administrator may."),
    e("already_disabled", 409, "该用户已停用", "The user is already disabled", "Disabling a user twice."),
    e("not_disabled", 409, "该用户未停用", "The user is not disabled", "Enabling a user who is not disabled."),
    e("duplicate", 409, "已存在", "It already exists",
      "Creating a unit with a code, or a user with a name, that is taken."),
    e("conflict", 409, "操作冲突", "Conflict",
      "A refusal not yet given its own code (being replaced by the codes above)."),
    // Input checks (400): the field is named in the message, often in `details.field` too.
    e("missing_field", 400, "缺少必填项", "A required field is missing",
      "A step or form without a field it needs (`details.field`)."),
    e("invalid_text", 400, "文字为空或过长", "A text is empty or too long",
      "A title, body, reason, note or other text that is empty after trimming or beyond its length (`details.field`)."),
    e("invalid_time", 400, "时间格式不对（应为 RFC 3339）", "Not an RFC 3339 time",
      "A time that is not RFC 3339, e.g. 2026-12-01T09:00:00+08:00 (`details.field`)."),
    e("invalid_datetime", 400, "时间格式不对", "Not a W3C datetime", "Open311: a time that is not a W3C datetime."),
    e("invalid_period", 400, "时间段不对", "The period is wrong",
      "Dates out of order (a close before an open, phases not in order) or a period that is not YYYY-MM."),
    e("invalid_cursor", 400, "翻页位置不对", "Not a list cursor",
      "`after` is not the `next` of a page of the list (keyset paging)."),
    e("invalid_place", 400, "地点格式不对", "The place is wrong",
      "A place that is not up to three names separated by '/' (小区/楼栋/单元), or that does not fit the topic's level."),
    e("invalid_merge", 400, "只能并入同一地区的另一个议题", "A topic merges into another topic of the same area",
      "Merging a topic into itself or into a topic of another area."),
    e("invalid_vote_rules", 400, "表决规则不对", "The vote's rules are wrong",
      "Opening a vote without rules, with a quorum or threshold out of range, or with a close already past."),
    e("invalid_objection_days", 400, "公示期应为 0–30 天", "The objection period is 0–30 days",
      "Publishing a resolution with an objection period outside 0–30 days."),
    e("invalid_progress", 400, "进度应为 0–100", "Progress is 0–100", "A task's or project's progress outside 0–100."),
    e("invalid_budget", 400, "预算必须为正数", "The budget must be positive", "Opening a call with a budget of 0 or less."),
    e("invalid_max_approvals", 400, "限选投票须指定可选项目数", "An approval ballot names max_approvals ≥ 1",
      "Opening an approval call without max_approvals ≥ 1."),
    e("invalid_cost", 400, "费用应在 1 元到预算之间", "The cost is between 1 and the budget",
      "A project's estimate or reviewed cost outside 1 and the call's budget."),
    e("invalid_ballot", 400, "选票不符合规则", "The ballot does not follow the call's rules",
      "A ballot with an unknown or unfeasible project, a project twice, none, more than allowed, or over the budget."),
    e("invalid_questions", 400, "征询问题不对", "The questions are wrong",
      "A consultation with no or more than 50 questions, an empty one, a choice with fewer than two options, or a scale out of range."),
    e("invalid_answers", 400, "回答不符合问题", "The answers do not fit the questions",
      "A response with the wrong number of answers, an unknown option, a repeat, or a value off the scale."),
    e("invalid_candidates", 400, "候选名单不对", "The candidate list is wrong",
      "A panel's candidates empty, over 100,000, with an empty or repeated name or a line break."),
    e("invalid_seats", 400, "席位数不对", "The number of seats is wrong", "Seats outside 1 and the number of candidates."),
    e("invalid_count", 400, "数量不对", "The count is wrong", "Issuing verification codes outside 1–500."),
    e("invalid_target", 400, "举报对象应为 topic:ID 或 comment:ID", "The target is topic:ID or comment:ID",
      "Reporting or moderating something that is not a topic or comment."),
    e("invalid_settings", 400, "设置取值超出范围", "A setting is out of range",
      "A setting outside its range (stats weights, ballot batch 5–1000, auto-hide 1–1000)."),
    e("unknown_area", 400, "没有这个地区", "No such area", "An area code that is not imported."),
    e("unknown_user", 400, "没有这个用户", "No such user", "A user name that does not exist."),
    e("unknown_unit", 400, "没有这个单位", "No such unit", "A unit code that does not exist."),
    e("unknown_role", 400, "没有这个角色", "No such role", "A role that is not registered."),
    e("unknown_case", 400, "没有这个案件", "No such case", "A task linked to a case that does not exist."),
    e("unknown_project", 400, "没有这个项目", "No such project", "A task linked to a micro-project that does not exist."),
    e("unknown_meeting", 400, "该议题没有这次会议", "No such meeting on this topic", "Signing in to, or recording minutes of, another topic's meeting."),
    e("unknown_task", 400, "该议题没有这项任务", "No such task on this topic", "Progress on another topic's task."),
    e("unknown_parent", 400, "没有这个上级", "No such parent", "A reply to an unknown comment, or a category under an unknown one."),
    e("unknown_category", 400, "没有这个类别", "No such category", "A case category that does not exist."),
    e("unknown_photo", 400, "没有这张照片", "No such photo", "Publishing a photo that is not the case's."),
    e("unknown_reference", 400, "引用的记录不存在", "A referenced record does not exist", "A case naming an unknown unit, grid or category."),
    e("unknown_attachment", 400, "没有这个上传文件", "No such upload", "Linking an upload that is not the caller's or is already linked."),
    e("unknown_service", 400, "没有这项服务", "No such service", "Open311: an unknown service_code."),
    e("unknown_attribute", 400, "没有这个属性", "No such attribute", "Open311: an attribute the service does not have."),
    e("unknown_jurisdiction", 400, "不服务该辖区", "This jurisdiction is not served", "Open311: an unknown jurisdiction_id."),
    e("missing_attribute", 400, "缺少必填属性", "A required attribute is missing", "Open311: a required attribute not given."),
    e("missing_service_code", 400, "缺少服务编码", "service_code is required", "Open311: a request without service_code."),
    e("missing_location", 400, "缺少位置", "A location is required", "A report without coordinates or an address."),
    e("invalid_location", 400, "位置不对", "The location is wrong", "Open311: lat without long or the reverse."),
    e("invalid_lat", 400, "纬度不对", "The latitude is wrong", "Open311: lat that is not a number."),
    e("invalid_long", 400, "经度不对", "The longitude is wrong", "Open311: long that is not a number."),
    e("invalid_coordinates", 400, "坐标超出范围", "The coordinates are out of range", "lat beyond ±90 or lng beyond ±180."),
    e("invalid_crs", 400, "坐标系不对", "Unknown coordinate system", "A crs other than wgs84 or gcj02."),
    e("invalid_media_url", 400, "图片链接不对", "The media URL is wrong", "Open311: media_url that is not http(s)."),
    e("invalid_attribute", 400, "属性不对", "The attribute is wrong", "Open311: an attribute value of the wrong form."),
    e("invalid_description", 400, "描述应为 1–4000 字", "The description is 1–4000 characters", "A report's description empty or too long."),
    e("invalid_public_description", 400, "公开描述应为 1–4000 字", "The public description is 1–4000 characters", "Publishing a case with an empty or too long public description."),
    e("invalid_kind", 400, "请选择诉求类型", "Choose the kind of request", "A case kind that is not one of the kinds."),
    e("invalid_channel", 400, "没有这个渠道", "No such channel", "A filter naming an unknown channel."),
    e("invalid_status", 400, "没有这个状态", "No such status", "A filter naming an unknown status."),
    e("invalid_urgency", 400, "紧急程度不对", "The urgency is wrong", "Urgency other than normal, urgent or emergency."),
    e("invalid_class", 400, "类别分类不对", "The class is wrong", "A category class other than component, event or request."),
    e("invalid_satisfaction", 400, "满意度不对", "The satisfaction is wrong", "An evaluation other than satisfied, basically_satisfied or dissatisfied."),
    e("invalid_time_limit", 400, "时限不对", "The time limit is wrong", "A category time limit below 1 or beyond ten years."),
    e("invalid_phone", 400, "电话号码应为 5–20 位数字", "A phone number is 5–20 digits", "A phone number of the wrong form."),
    e("invalid_photos", 400, "照片重复", "A photo is listed twice", "The same photo listed twice."),
    e("too_many_photos", 400, "照片过多", "Too many photos", "More photos than a record may have."),
    e("unpublishable_photo", 400, "照片已损坏", "A damaged photo", "A photo that cannot be stripped of its metadata."),
    e("invalid_calendar", 400, "日历数据有误，未导入", "The calendar has bad lines; nothing was imported", "Importing a working calendar with bad lines."),
    e("invalid_calendar_name", 400, "日历名称不对", "The calendar name is wrong", "A calendar name that is not 1–40 letters, digits, '-' or '_'."),
    e("invalid_category_code", 400, "类别编码不对", "The category code is wrong", "A category code that is not 2–12 letters or digits."),
    e("invalid_category_name", 400, "类别需要名称", "A category needs a name", "A category without a name."),
    e("invalid_name", 400, "名称不对", "The name is wrong", "A name with characters or a length it may not have."),
    e("invalid_username", 400, "用户名不对", "The user name is wrong", "A user name that is not 3–32 letters, digits, '.', '_' or '-'."),
    e("weak_password", 400, "密码太短", "The password is too short", "A password under 8 characters."),
    e("no_role", 400, "用户至少需要一个角色", "A user needs at least one role", "Creating a user without a role."),
    e("invalid_area_code", 400, "区划编码不对", "The area code is wrong", "An area code that is not 6, 9, 12 or 15 digits, or has a level of 000."),
    e("invalid_grid_code", 400, "网格编码不对", "The grid code is wrong", "A unit-grid code that is not its community's 12 digits and a 3-digit sequence."),
    e("invalid_unit_code", 400, "单位编码不对", "The unit code is wrong", "A unit code of the wrong form."),
    e("invalid_unit_name", 400, "单位需要名称", "A unit needs a name", "A unit without a name."),
    e("invalid_unit_kind", 400, "单位类型不对", "The unit kind is wrong", "A unit kind that is not one of the kinds."),
    e("invalid_level", 400, "层级不对", "The level is wrong", "An area level that is not district, street, community or grid."),
    e("import_rejected", 400, "导入有误，未做任何更改", "The import was rejected; nothing was changed", "An import with problems (listed in the details)."),
    // Page forms that still name their field (being moved with the pages).
    e("choice", 400, "请选择一项", "Choose one", "A page's vote form without a valid choice."),
    e("questions", 400, "征询问题格式不对", "The questions are written wrongly", "A page's consultation form with a malformed line."),
    // Command line and configuration (never answered over HTTP).
    e("config", 400, "配置有误", "The configuration is wrong", "A configuration file that cannot be read or parsed."),
    e("database_url", 400, "数据库地址不对", "Unsupported database URL", "A database URL other than sqlite:// or postgres://."),
    e("secret_key", 400, "密钥格式不对", "The secret key is malformed", "A secret key that is not 32 bytes as hex or base64."),
    e("no_secret_key", 400, "缺少密钥", "No secret key", "A command that needs the secret key, run without one."),
    e("not_a_backup", 400, "不是共治备份文件", "Not a gongzhi backup", "`gongzhi restore` given a file that is not a gongzhi backup, or one of a format version it does not read."),
    e("backup_truncated", 400, "备份文件不完整", "The backup file is truncated or altered", "`gongzhi restore` given a backup whose trailer is missing or whose checksum does not match."),
    e("backup_newer_schema", 400, "备份来自更新的版本", "The backup is from a newer schema", "`gongzhi restore` given a backup with migrations this gongzhi does not know: restore with a gongzhi at least as new."),
    e("backup_wrong_key", 400, "密钥与备份不符", "The secret key is not the backup's", "`gongzhi restore` run with a secret key other than the one the backup's encrypted fields and audit chain were written with."),
    e("restore_target_not_empty", 400, "恢复目标不是空的", "The restore target is not empty", "`gongzhi restore` into a database that already holds tables: restore only into an empty data dir or database."),
    e("server", 400, "找不到服务程序", "Cannot start the server", "gongzhi-bench http given a server binary it cannot run."),
    e("file", 400, "无法读取文件", "Cannot read the file", "A command given a file it cannot read."),
    e("password", 400, "无法读取密码", "Cannot read the password", "A command that could not read a password from standard input."),
    e("listen", 400, "无法监听该地址", "Cannot listen on the address", "The server cannot bind its address."),
    e("cases", 400, "案件数量参数不对", "The case counts are wrong", "The benchmark's --cases option malformed."),
    e("invalid_anchor", 400, "锚点文件不对", "The anchor file is wrong", "An audit anchor file that cannot be read."),
    e("invalid_record", 400, "抽签记录不对", "The draw record is wrong", "A sortition record that cannot be parsed."),
];

/// The entry of `code`, if it is one.
pub fn lookup(code: &str) -> Option<&'static Entry> {
    CATALOGUE.iter().find(|e| e.code == code)
}

/// The catalogue as a Markdown table, for the OpenAPI document.
pub fn markdown() -> String {
    let mut out = String::from("| code | HTTP | 中文 | English | when |\n|---|---|---|---|---|\n");
    for e in CATALOGUE {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            e.code,
            e.status,
            e.zh,
            e.en,
            e.when.replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn codes_are_unique_snake_case_and_fully_described() {
        let mut seen = std::collections::HashSet::new();
        for e in CATALOGUE {
            assert!(seen.insert(e.code), "{} is listed twice", e.code);
            assert!(
                e.code
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{}",
                e.code
            );
            assert!((400..600).contains(&e.status), "{}", e.code);
            assert!(
                !e.zh.is_empty() && !e.en.is_empty() && !e.when.is_empty(),
                "{}",
                e.code
            );
        }
    }

    /// Every kind of error: adding a variant without a catalogued code fails to compile here
    /// (the match) or fails this test (the lookup).
    #[test]
    fn every_kind_of_error_answers_with_a_catalogued_code() {
        let all = [
            Error::invalid("invalid_text", "x"),
            Error::not_found("x"),
            Error::Unauthenticated("x".into()),
            Error::Forbidden("x".into()),
            Error::Conflict("x".into()),
            Error::refused("wrong_state", "x"),
            Error::RateLimited("x".into()),
            Error::OutsideJurisdiction,
            Error::Storage(crate::error::StorageError {
                kind: crate::error::StorageKind::NoRow,
                message: "x".into(),
            }),
            Error::internal("x"),
            Error::unknown_value("ballot", "x", &["approval"]),
        ];
        for e in &all {
            match e {
                Error::Invalid { .. }
                | Error::NotFound { .. }
                | Error::Unauthenticated(_)
                | Error::Forbidden(_)
                | Error::Conflict(_)
                | Error::Refused { .. }
                | Error::RateLimited(_)
                | Error::OutsideJurisdiction
                | Error::Storage(_)
                | Error::Internal(_) => {}
            }
            let entry =
                lookup(e.code()).unwrap_or_else(|| panic!("{} is not catalogued", e.code()));
            assert_eq!(e.status(), entry.status, "{}", e.code());
        }
        assert_eq!(Error::refused("already_voted", "x").status(), 409);
        assert_eq!(Error::unknown_value("a", "b", &[]).status(), 422);
        assert_eq!(Error::invalid("payload_too_large", "x").status(), 413);
    }

    /// Every code written in the workspace's sources — `Error::invalid("…")`,
    /// `Error::invalid_with("…")`, `Error::refused("…")`, `ApiError::new(StatusCode::…, "…")` and
    /// the `invalid_…`, `unknown_…`, `missing_…`, `already_…` literals handed to helpers — is in
    /// the catalogue, and an `ApiError::new` answers with the catalogue's status.
    #[test]
    fn every_code_in_the_sources_is_catalogued() {
        let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&crates).unwrap() {
            collect_rs(&entry.unwrap().path().join("src"), &mut files);
        }
        assert!(files.len() > 20, "found the workspace's sources");
        let mut missing = Vec::new();
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            for (code, status) in codes_in(&text) {
                match lookup(&code) {
                    None => missing.push(format!("{code} ({})", f.display())),
                    Some(e) => {
                        if let Some(s) = status {
                            assert_eq!(s, e.status, "{code} in {}", f.display());
                        }
                    }
                }
            }
        }
        missing.sort();
        missing.dedup();
        assert!(missing.is_empty(), "not in the catalogue: {missing:#?}");
    }

    fn collect_rs(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                collect_rs(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// The codes in one source text, with the status an `ApiError::new` gives them.
    fn codes_in(text: &str) -> Vec<(String, Option<u16>)> {
        let mut out = Vec::new();
        for call in [
            "Error::invalid(",
            "Error::invalid_with(",
            "Error::refused(",
            "ApiError::new(",
        ] {
            for (at, _) in text.match_indices(call) {
                let mut rest = text[at + call.len()..].trim_start();
                let mut status = None;
                if let Some(r) = rest.strip_prefix("StatusCode::") {
                    let name: String = r
                        .chars()
                        .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                        .collect();
                    status = status_of(&name);
                    rest = r[name.len()..]
                        .trim_start()
                        .trim_start_matches(',')
                        .trim_start();
                }
                if let Some(code) = literal(rest) {
                    out.push((code, status));
                }
            }
        }
        // Codes handed to helpers that build the error (`known(s, "invalid_kind", …)`).
        for prefix in ["\"invalid_", "\"unknown_", "\"missing_", "\"already_"] {
            for (at, _) in text.match_indices(prefix) {
                if let Some(code) = literal(&text[at..]) {
                    out.push((code, None));
                }
            }
        }
        out
    }

    /// The snake_case string literal `rest` starts with.
    fn literal(rest: &str) -> Option<String> {
        let body = rest.strip_prefix('"')?;
        let end = body.find('"')?;
        let code = &body[..end];
        let snake = !code.is_empty()
            && !code.ends_with('_')
            && code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        snake.then(|| code.to_string())
    }

    fn status_of(name: &str) -> Option<u16> {
        Some(match name {
            "BAD_REQUEST" => 400,
            "UNAUTHORIZED" => 401,
            "FORBIDDEN" => 403,
            "NOT_FOUND" => 404,
            "CONFLICT" => 409,
            "PAYLOAD_TOO_LARGE" => 413,
            "UNSUPPORTED_MEDIA_TYPE" => 415,
            "UNPROCESSABLE_ENTITY" => 422,
            "TOO_MANY_REQUESTS" => 429,
            _ => return None,
        })
    }
}
