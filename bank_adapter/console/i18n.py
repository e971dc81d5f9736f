"""The console's words, in English and Arabic. Technical values (codes, references,
partner ids, amounts) are not translated: they are what the logs, the CSV and the banks
say. A missing key is a KeyError, and a test renders every page in both languages."""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("en", "ar")

MESSAGES: Final[dict[str, tuple[str, str]]] = {
    # frame
    "console": ("bank-adapter console", "لوحة تشغيل محوّل البنوك"),
    "navigation": ("Sections", "الأقسام"),
    "today": ("Today", "اليوم"),
    "partners": ("Partners", "البنوك الشريكة"),
    "day_close": ("Day close", "إقفال اليوم"),
    "payments": ("Payments", "المدفوعات"),
    "events": ("Events", "الأحداث"),
    "audit": ("Audit log", "سجل التدقيق"),
    "logout": ("Log out", "تسجيل الخروج"),
    "log_in": ("Log in", "تسجيل الدخول"),
    "operator_name": ("Your name (recorded in the audit log)", "اسمك (يُسجَّل في سجل التدقيق)"),
    "admin_token": ("Admin token", "رمز المشرف"),
    "login_help": (
        "The token is the service's BANK_ADAPTER_ADMIN_TOKEN. The session ends after a "
        "period without activity.",
        "الرمز هو BANK_ADAPTER_ADMIN_TOKEN الخاص بالخدمة. تنتهي الجلسة بعد فترة من عدم النشاط.",
    ),
    "login_refused": ("Wrong admin token.", "رمز المشرف غير صحيح."),
    "operator_invalid": (
        "Give your name: letters, digits, spaces and . _ - @ ' (up to 64).",
        "اكتب اسمك: حروف وأرقام ومسافات و . _ - @ ' (حتى 64 حرفًا).",
    ),
    "console_closed": (
        "The console is closed: no admin token is configured (BANK_ADAPTER_ADMIN_TOKEN).",
        "لوحة التشغيل مغلقة: لم يُضبط رمز المشرف (BANK_ADAPTER_ADMIN_TOKEN).",
    ),
    "csrf_refused": (
        "This form has expired or did not come from this console. Go back, reload the page "
        "and try again.",
        "انتهت صلاحية هذا النموذج أو لم يصدر من لوحة التشغيل هذه. "
        "ارجع وأعد تحميل الصفحة ثم حاول مجددًا.",
    ),
    "error_title": ("Something is not right", "تعذّر إتمام الطلب"),
    "not_found": ("There is no such page.", "لا توجد صفحة بهذا العنوان."),
    "back_home": ("Back to Today", "العودة إلى صفحة اليوم"),
    "form_invalid": ("The form could not be read.", "تعذّرت قراءة النموذج."),
    "storage_unavailable": (
        "The database does not answer. Nothing was changed; try again shortly.",
        "قاعدة البيانات لا تستجيب. لم يتغير شيء؛ حاول مجددًا بعد قليل.",
    ),
    "nothing_yet": ("Nothing yet.", "لا شيء حتى الآن."),
    "none": ("none", "لا يوجد"),
    "yes": ("yes", "نعم"),
    "no": ("no", "لا"),
    "sar": ("SAR", "ر.س"),
    "previous": ("Previous", "السابق"),
    "next": ("Next", "التالي"),
    "first": ("First", "الأول"),
    "latest": ("Latest", "الأحدث"),
    "older": ("Older", "الأقدم"),
    "show": ("Show", "عرض"),
    # today
    "today_scope": (
        "Payments and activations recorded today (Asia/Riyadh), all instances:",
        "المدفوعات والتفعيلات المسجلة اليوم (بتوقيت الرياض)، من جميع النسخ:",
    ),
    "by_partner": ("By partner", "حسب البنك"),
    "by_hour": ("By hour (Asia/Riyadh)", "حسب الساعة (بتوقيت الرياض)"),
    "payments_posted": ("Payments posted", "مدفوعات مُرحّلة"),
    "payments_reversed": ("Payments reversed", "مدفوعات مُعكوسة"),
    "activations": ("Activations", "التفعيلات"),
    "posted_count": ("Posted", "المُرحّلة"),
    "posted_amount": ("Posted amount", "مبلغ المُرحّلة"),
    "reversed_count": ("Reversed", "المعكوسة"),
    "reversed_amount": ("Reversed amount", "مبلغ المعكوسة"),
    "requests_this_instance": (
        "Requests answered by this instance",
        "الطلبات التي أجابت عنها هذه النسخة",
    ),
    "since_start": (
        "Counted by this instance since it started at",
        "تحسبها هذه النسخة منذ تشغيلها في",
    ),
    "requests": ("Requests", "الطلبات"),
    "answered_ok": ("Answered OK", "ناجحة"),
    "by_outcome_code": ("Other outcome codes", "رموز النتائج الأخرى"),
    "signature_failures": (
        "Signature failures by reason (this instance)",
        "إخفاقات التوقيع حسب السبب (هذه النسخة)",
    ),
    "no_signature_failures": ("No signature failures.", "لا توجد إخفاقات في التوقيع."),
    "latency": ("Latency (this instance)", "زمن الاستجابة (هذه النسخة)"),
    "latency_scope": (
        "p50 and p99 by operation, estimated from this instance's histogram since it started.",
        "الوسيط (p50) و p99 حسب العملية، مقدّرة من مدرّج هذه النسخة منذ تشغيلها.",
    ),
    "operation": ("Operation", "العملية"),
    "count": ("Count", "العدد"),
    "reason": ("Reason", "السبب"),
    "partner": ("Partner", "البنك"),
    # partners
    "partners_scope": (
        "Suspending a partner takes effect on every instance within about a second, without "
        "a restart, and is recorded in the audit log. The partner file's setting is the "
        "default until someone decides otherwise here.",
        "يسري إيقاف البنك على جميع النسخ خلال ثانية تقريبًا دون إعادة تشغيل، ويُسجَّل في سجل "
        "التدقيق. إعداد ملف البنك هو الافتراضي إلى أن يُتخذ قرار آخر هنا.",
    ),
    "partner_changed": ("Done: the partner's state is changed.", "تم: تغيّرت حالة البنك."),
    "active": ("active", "نشط"),
    "name": ("Name", "الاسم"),
    "state": ("State", "الحالة الآن"),
    "keys_ok": ("ok", "سليمة"),
    "suspended": ("suspended", "موقوف"),
    "format": ("Format", "الصيغة"),
    "signature_profile": ("Signature profile", "نمط التوقيع"),
    "algorithms": ("Algorithms", "الخوارزميات"),
    "channels": ("Channels", "القنوات"),
    "strong_auth_channels": ("Strong-authentication channels", "قنوات التحقق القوي"),
    "cutoff": ("Cut-off (Asia/Riyadh)", "وقت الإقفال (بتوقيت الرياض)"),
    "rate_limit": ("Rate limit", "حد المعدل"),
    "file_default": ("Partner file says", "إعداد ملف البنك"),
    "suspended_by": ("Suspended by", "أوقفه"),
    "resumed_by": ("Resumed by", "أعاد تفعيله"),
    "keys": ("Keys", "المفاتيح"),
    "kid": ("Key id", "معرّف المفتاح"),
    "key_kind": ("Kind", "النوع"),
    "valid_until": ("Usable until", "صالح حتى"),
    "certificate_until": ("certificate:", "الشهادة:"),
    "days_left": ("Days left", "الأيام المتبقية"),
    "no_expiry": ("no expiry", "بلا انتهاء"),
    "no_keys": ("No keys.", "لا توجد مفاتيح."),
    "expiring": ("expires within 30 days", "ينتهي خلال 30 يومًا"),
    "expired": ("expired", "منتهٍ"),
    "suspend": ("Suspend", "إيقاف"),
    "resume": ("Resume", "إعادة التفعيل"),
    "suspend_reason_hint": ("Why suspend? (required)", "سبب الإيقاف (مطلوب)"),
    "resume_reason_hint": ("Why resume? (required)", "سبب إعادة التفعيل (مطلوب)"),
    "reason_required": (
        "A reason is required (up to 500 characters).",
        "السبب مطلوب (حتى 500 حرف).",
    ),
    # day close
    "statement_figures": ("Statement figures", "أرقام الكشف"),
    "business_date": ("Business date", "تاريخ العمل"),
    "total": ("Total", "الإجمالي"),
    "checksum": ("Checksum", "المجموع التدقيقي"),
    "final": ("Final", "نهائي"),
    "closes_at": ("closes at", "يُقفل في"),
    "reconcile": ("Reconcile a settlement file", "مطابقة ملف التسوية"),
    "reconcile_help": (
        "Upload the bank's settlement CSV (bank_payment_ref,bill_number,amount,paid_at,status). "
        "It is compared with the ledger as `bank-adapter reconcile` does; results stay on this "
        "instance.",
        "ارفع ملف التسوية من البنك بصيغة CSV (bank_payment_ref,bill_number,amount,paid_at,status). "
        "تتم مقارنته بالسجل كما يفعل الأمر bank-adapter reconcile، وتبقى النتائج على هذه النسخة.",
    ),
    "settlement_file": ("Settlement file", "ملف التسوية"),
    "run_reconciliation": ("Reconcile", "طابِق"),
    "recent_runs": ("Recent reconciliations (this instance)", "المطابقات الأخيرة (هذه النسخة)"),
    "no_runs": ("No reconciliation yet.", "لا توجد مطابقات بعد."),
    "run": ("Partner and date", "البنك والتاريخ"),
    "started": ("Started", "البدء"),
    "operator": ("Operator", "المشغّل"),
    "run_running": (
        "Reconciling… this page refreshes by itself.",
        "جارٍ المطابقة… تتحدث هذه الصفحة تلقائيًا.",
    ),
    "run_matched": ("The day matches", "اليوم مطابق"),
    "run_breaks": ("Breaks found", "توجد فروقات"),
    "run_bad_file": ("The file cannot be used", "لا يمكن استخدام الملف"),
    "run_failed": ("The reconciliation failed", "فشلت المطابقة"),
    "run_not_found": (
        "No such reconciliation on this instance.",
        "لا توجد مطابقة بهذا المعرّف على هذه النسخة.",
    ),
    "reconciliation": ("Reconciliation", "مطابقة"),
    "day_not_final": (
        "This business date is not final yet: payments and reversals may still change it.",
        "تاريخ العمل هذا ليس نهائيًا بعد: قد تغيّره مدفوعات أو عمليات عكس لاحقة.",
    ),
    "figure": ("Figure", "الرقم"),
    "bank_side": ("Bank's file", "ملف البنك"),
    "adapter_side": ("Adapter's ledger", "سجل المحوّل"),
    "breaks_by_class": ("Breaks by class", "الفروقات حسب النوع"),
    "all_breaks": ("All breaks", "كل الفروقات"),
    "no_breaks": ("No breaks.", "لا توجد فروقات."),
    "class": ("Class", "النوع"),
    "field": ("Field", "الحقل"),
    "bank_value": ("Bank's value", "قيمة البنك"),
    "adapter_value": ("Adapter's value", "قيمة المحوّل"),
    "bank_line": ("Line", "السطر"),
    "download_csv": ("Download breaks (CSV)", "تنزيل الفروقات (CSV)"),
    "download_json": ("Download report (JSON)", "تنزيل التقرير (JSON)"),
    "file_required": ("Choose a settlement file.", "اختر ملف التسوية."),
    "partner_and_date_required": ("Choose a partner and a date.", "اختر البنك والتاريخ."),
    "upload_too_large": (
        "The file is too large (4 GiB at most).",
        "الملف كبير جدًا (4 غيغابايت كحد أقصى).",
    ),
    # payments
    "search_payment": (
        "BankPaymentRef, PaymentId or bill number",
        "مرجع الدفع أو معرّف الدفعة أو رقم الفاتورة",
    ),
    "search": ("Find", "بحث"),
    "search_help": (
        "Find a payment by the bank's reference (any partner), its PaymentId, or the bill it paid.",
        "ابحث عن دفعة بمرجع البنك (أي بنك) أو بمعرّف الدفعة أو بالفاتورة التي سدّدتها.",
    ),
    "no_payment_found": ("No payment found.", "لم يُعثر على دفعة."),
    "payment_not_found": ("No payment with this PaymentId.", "لا توجد دفعة بهذا المعرّف."),
    "payment_id": ("PaymentId", "معرّف الدفعة"),
    "bank_payment_ref": ("BankPaymentRef", "مرجع البنك"),
    "partner_and_ref": ("Partner, BankPaymentRef", "البنك ومرجعه"),
    "bill_number": ("Bill number", "رقم الفاتورة"),
    "amount": ("Amount", "المبلغ"),
    "status": ("Status", "الحالة"),
    "recorded_at": ("Recorded", "وقت التسجيل"),
    "channel": ("Channel", "القناة"),
    "paid_at_bank": ("Paid at (bank's clock)", "وقت الدفع (حسب البنك)"),
    "posted": ("posted", "مُرحّلة"),
    "reversed": ("reversed", "معكوسة"),
    "history": ("History", "السجل"),
    "bill": ("Bill", "الفاتورة"),
    "bill_not_found": (
        "The bill is not in the database.",
        "الفاتورة غير موجودة في قاعدة البيانات.",
    ),
    "id_number": ("Payer's ID number (masked)", "رقم هوية الدافع (مُقنّع)"),
    "mobile": ("Payer's mobile (masked)", "جوال الدافع (مُقنّع)"),
    "service": ("Service", "الخدمة"),
    "evidence": ("Evidence: the bank's signed requests", "الأدلة: طلبات البنك الموقّعة"),
    "evidence_help": (
        "Each accepted payment and reversal request, byte for byte with its signature "
        "headers. The download is exactly what the bank sent, so its signature can be checked "
        "again.",
        "كل طلب دفع أو عكس مقبول، كما وصل بايتًا ببايت مع ترويسات التوقيع. التنزيل هو ما أرسله "
        "البنك تمامًا، فيمكن التحقق من توقيعه مجددًا.",
    ),
    "no_evidence": ("No evidence kept for this payment.", "لا توجد أدلة محفوظة لهذه الدفعة."),
    "message_id": ("MessageId", "معرّف الرسالة"),
    "header": ("Header", "الترويسة"),
    "value": ("Value", "القيمة"),
    "download_request": ("Download request (.http)", "تنزيل الطلب كاملًا (ملف http)"),
    "download_body": ("Download body", "تنزيل المحتوى"),
    # events
    "events_cursor": ("Showing events after cursor", "عرض الأحداث بعد المؤشر"),
    "events_last": ("last seq", "آخر رقم تسلسلي"),
    "events_help": (
        "The outbox the platform follows with GET /internal/v1/events?after=CURSOR. ID numbers "
        "and mobiles are masked here.",
        "صندوق الصادر الذي تتابعه المنصة عبر GET /internal/v1/events?after=CURSOR. أرقام "
        "الهويات والجوالات مُقنّعة هنا.",
    ),
    "seq": ("seq", "التسلسل"),
    "type": ("Type", "النوع"),
    "occurred_at": ("Occurred", "وقت الحدوث"),
    "data": ("Data", "البيانات"),
    "no_events": ("No events.", "لا توجد أحداث."),
    # audit
    "audit_help": (
        "Every change made through this console or the internal API, newest first.",
        "كل تغيير تم عبر لوحة التشغيل هذه أو الواجهة الداخلية، الأحدث أولًا.",
    ),
    "when": ("When", "الوقت"),
    "who": ("Who", "المنفّذ"),
    "action": ("Action", "الإجراء"),
    "subject": ("Subject", "الموضوع"),
    "detail": ("Detail", "التفاصيل"),
    "no_audit": ("No changes recorded yet.", "لم تُسجَّل أي تغييرات بعد."),
}


class Texts:
    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else LANGUAGES[0]
        self._index = LANGUAGES.index(self.lang)

    @property
    def direction(self) -> str:
        return "rtl" if self.lang == "ar" else "ltr"

    def __call__(self, key: str) -> str:
        return MESSAGES[key][self._index]
