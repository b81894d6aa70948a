"""Controls of identification and verification that the written CIP states (A1-A8).

Each statement says what the code does today; the decisions package extends these (MRZ check
digits, vendor comparison, source of funds ...) when it lands them, with their tests.
"""

from __future__ import annotations

from cloudcip.reports.controls import Control, ControlContext, method_accepted
from cloudcip.verification import otp
from cloudcip.verification.validation import MINIMUM_AGE

OUTCOME_WORDS = {"proceed": "the decision proceeds under the rule",
                 "in_review": "the application goes to an analyst for review",
                 "refused": "the account is refused"}


def _outcome(context: ControlContext, name: str) -> str:
    return OUTCOME_WORDS[str(getattr(context.policy.review_triggers, name))]


def _funds_rules(context: ControlContext) -> list[str]:
    return [rule.id for rule in context.policy.rules
            if {"source_of_funds", "payment_source"} & set(rule.required_fields)]


def _vendor_webhook_on(context: ControlContext) -> bool:
    return context.accepts("vendor_idv") and context.settings is not None and bool(context.settings.veriff_secret)


def _code_statement(channel: str) -> str:
    minutes = int(otp.DEFAULT_TTL.total_seconds() // 60)
    return (f"a {otp.CODE_DIGITS}-digit one-time code sent to the {channel} through the provider's webhook "
            f"(event otp.deliver); cloudcip stores only its hash; the code expires after {minutes} minutes, allows "
            f"{otp.DEFAULT_MAX_ATTEMPTS} attempts and verifies once")


_APPLICATIONS = "cloudcip.verification.applications.ApplicationService"

CONTROLS: tuple[Control, ...] = (
    Control(
        id="cip.generated_from_policy", section="", requirements=("A1",),
        statement="This written CIP is generated from the CIP policy file that decides every account opening "
                  "(CLOUDCIP_POLICY, else the policy shipped with cloudcip), so the program as written and as run "
                  "never differ.",
        performed_by=("cloudcip.reports.written_cip.build_written_cip",
                      "cloudcip.verification.applications.build_application_service"),
    ),
    Control(
        id="policy.first_matching_rule", section="A1",
        statement="The program is tailored by account type (standard, reseller, trial), by customer kind "
                  "(individual, entity), by opening channel (self-serve, sales-assisted, marketplace, via reseller) "
                  "and by risk tier (low, standard, high). Each application is decided under the first rule below "
                  "that matches it, and its answer names that rule (policy_rule); a policy in which some "
                  "combination matches no rule does not load.",
        performed_by=("cloudcip.verification.policy.CipPolicy.rule_for", "cloudcip.verification.decision.decide"),
    ),
    Control(
        id="risk.tier", section="A1", requirements=("A1", "G2"),
        statement="cloudcip computes each application's risk tier from named factors (a disposable-mail domain, a "
                  "possible match with a designated person, evidence touching a special-measure jurisdiction, "
                  "mismatched countries, the means of payment, a Tor or hosting signup address, a self-serve "
                  "Reseller Account, a trial paid with a crypto wallet); the provider's own assessment may raise "
                  "the tier, never lower it, and the answer lists every factor that fired.",
        performed_by=("cloudcip.verification.risk.assess_risk",),
    ),
    Control(
        id="status.determined_with_basis", section="A2",
        statement="When an application is submitted, cloudcip decides for the customer and for every beneficial "
                  "owner whether the person is a U.S. person or a foreign person, and records the basis with the "
                  "kinds of evidence it rests on (person_status in the answer, kept with the case). A person "
                  "whose status cannot be determined is a foreign person (basis undetermined); a U.S. passport or "
                  "permanent-resident card stated in the application is a claim and does not decide the status.",
        performed_by=("cloudcip.identity.us_person.determine_person_status", f"{_APPLICATIONS}.submit"),
    ),
    Control(
        id="status.us_entity", section="A2",
        statement="An entity registered in the United States is a U.S. person (basis us_entity). An EIN alone does "
                  "not decide, and a foreign subsidiary of a U.S. company is a foreign person.",
        performed_by=("cloudcip.identity.us_person.determine_person_status",),
    ),
    Control(
        id="status.located_in_us", section="A2",
        statement="A person is located in the United States (basis located_in_us) when a U.S. address is "
                  "corroborated by U.S. evidence of another kind (the telephone number's or the bank account's "
                  "country); the IP address alone never settles location.",
        performed_by=("cloudcip.identity.us_person.located_in_us",),
    ),
    Control(
        id="verify.us_person_baseline", section="A2",
        statement="A U.S. customer owes only the baseline checks of its rule (the table below); a U.S. beneficial "
                  "owner owes no verification.",
        performed_by=("cloudcip.verification.decision.requirement_for",),
    ),
    Control(
        id="collect.required_fields", section="A3",
        statement="Each rule names the fields an application must carry (the table below); an application "
                  "missing one is handled as section A6 says for a missing field.",
        performed_by=("cloudcip.verification.decision.decide",),
    ),
    Control(
        id="collect.profile_fields", section="A3",
        statement=lambda context: "Every rule requires at least what the regulatory profile collects from foreign "
                                  "customers and foreign beneficial owners: "
                                  + ", ".join(context.profile.verification.foreign_person_fields)
                                  + " (for an entity its registration number stands for the national "
                                    "identification number).",
        performed_by=("cloudcip.verification.profile.check_policy_against_profile",),
        switch="every rule of the policy requires the profile's foreign-person fields",
        enabled=lambda context: context.within_profile("required_fields"),
    ),
    Control(
        id="collect.source_of_funds", section="A3",
        statement=lambda context: (
            "The source of funds (its kind, and a description where the kind is other) and the source of payment "
            "(who pays: the customer, a parent company, an affiliate, an employer, a reseller or a named third party) "
            "are collected as fields of their own, validated, and sealed at rest with the customer's other "
            "identifying information. Rules that require them: " + ", ".join(_funds_rules(context)) + "."),
        performed_by=("cloudcip.domain.customer.SourceOfFunds", "cloudcip.domain.customer.PaymentSource",
                      "cloudcip.verification.decision.decide"),
        switch="a rule requires source_of_funds or payment_source",
        enabled=lambda context: bool(_funds_rules(context)),
    ),
    Control(
        id="method.passport", section="A4", group="Documentary methods:", term="passport",
        statement="the provider examines the customer's passport and reports the outcome (verified, failed or "
                  "inconclusive) with its reference as evidence of the case; a passport stated in the "
                  "application is checked for form and expiry when the application is submitted",
        performed_by=(f"{_APPLICATIONS}.add_evidence", "cloudcip.verification.validation.check_record"),
        switch="a rule accepts the method passport", enabled=method_accepted("passport"),
    ),
    Control(
        id="method.national_id_card", section="A4", group="Documentary methods:", term="national_id_card",
        statement="the provider examines the government identity card and reports the outcome with its reference; "
                  "an identity-card number stated in the application is checked as the field checks below say",
        performed_by=(f"{_APPLICATIONS}.add_evidence", "cloudcip.verification.validation.check_record"),
        switch="a rule accepts the method national_id_card", enabled=method_accepted("national_id_card"),
    ),
    Control(
        id="method.registration_document", section="A4", group="Documentary methods:", term="registration_document",
        statement="the provider examines the entity's registration document and reports the outcome with its "
                  "reference; the registration number is checked when the application is submitted",
        performed_by=(f"{_APPLICATIONS}.add_evidence", "cloudcip.identity.national_id.validate_registration"),
        switch="a rule accepts the method registration_document", enabled=method_accepted("registration_document"),
    ),
    Control(
        id="method.email_otp", section="A4", group="Non-documentary methods:", term="email_otp",
        statement=lambda _context: _code_statement("email address"),
        performed_by=(f"{_APPLICATIONS}.issue_otp", f"{_APPLICATIONS}.confirm_otp", "cloudcip.verification.otp"),
        switch="a rule accepts the method email_otp", enabled=method_accepted("email_otp"),
    ),
    Control(
        id="method.phone_otp", section="A4", group="Non-documentary methods:", term="phone_otp",
        statement=lambda _context: _code_statement("telephone number"),
        performed_by=(f"{_APPLICATIONS}.issue_otp", f"{_APPLICATIONS}.confirm_otp", "cloudcip.verification.otp"),
        switch="a rule accepts the method phone_otp", enabled=method_accepted("phone_otp"),
    ),
    Control(
        id="method.payment_check", section="A4", group="Non-documentary methods:", term="payment_check",
        statement="the outcome of the provider's own check of the means of payment, reported as evidence with its "
                  "reference; the card, IBAN, BIC or wallet address itself is checked when the application is "
                  "submitted (field checks below)",
        performed_by=(f"{_APPLICATIONS}.add_evidence", "cloudcip.verification.validation.check_record"),
        switch="a rule accepts the method payment_check", enabled=method_accepted("payment_check"),
    ),
    Control(
        id="method.vendor_idv", section="A4", group="Non-documentary methods:", term="vendor_idv",
        statement="an identity-verification vendor's document-and-selfie result (section A5)",
        performed_by=(f"{_APPLICATIONS}.add_vendor_result",),
        switch="a rule accepts the method vendor_idv", enabled=method_accepted("vendor_idv"),
    ),
    Control(
        id="verify.foreign_customer", section="A4",
        statement="A foreign customer and each foreign beneficial owner owe the verification their rule asks for "
                  "(the table below: how many documentary and non-documentary methods, and groups of which one "
                  "must pass). Until it is complete the answer lists the evidence still owed (evidence_required); "
                  "the evidence that completes it approves the case.",
        performed_by=("cloudcip.verification.decision.owed_by", "cloudcip.verification.decision.apply_evidence"),
    ),
    *(
        Control(
            id=f"field.{name}", section="A4", requirements=("A4", "A3"),
            group="Every field of an application is checked when it is submitted, with maintained libraries; a "
                  "field that fails refuses the application, the answer names each field at fault (never its "
                  "value) and nothing is stored:",
            statement=text, performed_by=("cloudcip.verification.validation.check_record", *paths),
        )
        for name, text, paths in (
            ("national_id", "national identification numbers: the format and check digits of the issuing country's "
                            "scheme (python-stdnum), where one is known", ("cloudcip.identity.validate_national_id",)),
            ("registration", "registration numbers of entities, and the EIN of U.S. entities",
             ("cloudcip.identity.national_id.validate_registration", "cloudcip.identity.national_id.validate_ein")),
            ("document_expiry", "identity documents: one whose expiry date has passed is refused", ()),
            ("birth_date", f"dates of birth: not in the future, and the person at least {MINIMUM_AGE} years old",
             ("cloudcip.identity.validate_birth_date",)),
            ("address", "addresses: an ISO 3166 country, and a subdivision of that country where one is given",
             ("cloudcip.identity.validate_address",)),
            ("phone", "telephone numbers: valid in their country's numbering plan (phonenumbers)",
             ("cloudcip.identity.validate_phone",)),
            ("email", "email addresses: syntax and domain (email-validator); disposable-mail domains are flagged",
             ("cloudcip.identity.validate_email",)),
            ("card", "cards: the Luhn check digit and an expiry month not passed",
             ("cloudcip.identity.payment.validate_card_number", "cloudcip.identity.payment.validate_card_expiry")),
            ("iban_bic", "IBANs and BICs: checksum, country and structure (schwifty)",
             ("cloudcip.identity.payment.validate_iban", "cloudcip.identity.payment.validate_bic")),
            ("wallet", "crypto-wallet addresses: their checksums (Base58Check, Bech32, and EIP-55 where the "
                       "address carries one)",
             ("cloudcip.identity.payment.validate_wallet",)),
            ("beneficial_owner", "beneficial owners: each owns at least 25 % of the entity or controls it",
             ()),
        )
    ),
    Control(
        id="vendor.generic_adapter", section="A5",
        statement="A vendor's result in cloudcip's generic shape (the vendor, its reference, the outcome and the "
                  "document it read) becomes vendor_idv evidence of the case with the vendor's reference kept; the "
                  "document details are sealed with the customer's record.",
        performed_by=(f"{_APPLICATIONS}.add_vendor_result", "cloudcip.verification.vendors.from_generic"),
        switch="a rule accepts the method vendor_idv", enabled=method_accepted("vendor_idv"),
    ),
    Control(
        id="vendor.veriff_webhook", section="A5",
        statement="Veriff's decision webhook is taken only with a valid HMAC-SHA256 signature under the shared "
                  "secret; an unsigned or forged one is refused.",
        performed_by=("cloudcip.verification.vendors.from_veriff",),
        switch="a rule accepts vendor_idv and CLOUDCIP_VERIFF_SECRET is set", enabled=_vendor_webhook_on,
    ),
    Control(
        id="trigger.screening_block", section="A6", requirements=("A6", "D3"),
        group="Whatever the rule, these facts change the decision:",
        statement=lambda context: "when screening finds a match with a designated person that blocks the "
                                  "application, " + _outcome(context, "screening_block"),
        performed_by=("cloudcip.verification.decision.decide", "cloudcip.screening.service.ScreeningService"),
    ),
    Control(
        id="trigger.screening_review", section="A6", requirements=("A6", "D3"),
        group="Whatever the rule, these facts change the decision:",
        statement=lambda context: "when screening finds a possible match with a designated person, "
                                  + _outcome(context, "screening_review"),
        performed_by=("cloudcip.verification.decision.decide", "cloudcip.screening.service.ScreeningService"),
    ),
    Control(
        id="trigger.measure", section="A6", requirements=("A6", "D1"),
        group="Whatever the rule, these facts change the decision:",
        statement=lambda context: "when a special measure in force prohibits the account, the account is refused "
                                  "(not opened); when a measure sets conditions on it, they are added to the "
                                  "restrictions and " + _outcome(context, "measure_conditions"),
        performed_by=("cloudcip.verification.decision.decide", "cloudcip.screening.measures.add_measure"),
    ),
    Control(
        id="trigger.missing_fields", section="A6", group="Whatever the rule, these facts change the decision:",
        statement=lambda context: "when a field the rule requires is missing, " + _outcome(context, "missing_fields"),
        performed_by=("cloudcip.verification.decision.decide",),
    ),
    Control(
        id="trigger.risk_tier_high", section="A6", group="Whatever the rule, these facts change the decision:",
        statement=lambda context: "when the risk tier is high, " + _outcome(context, "risk_tier_high"),
        performed_by=("cloudcip.verification.decision.decide",),
    ),
    Control(
        id="trigger.evidence_failed", section="A6", group="Whatever the rule, these facts change the decision:",
        statement=lambda context: "when a verification method fails, " + _outcome(context, "evidence_failed"),
        performed_by=("cloudcip.verification.decision.apply_evidence",),
    ),
    Control(
        id="pending.restrictions", section="A6",
        statement="While verification is pending the account is opened restricted: the answer lists the rule's "
                  "restrictions, with those a special measure adds (restrictions), and the deadline, and the "
                  "account's state is restricted_pending until the case settles. The provider's control plane "
                  "enforces the restrictions.",
        performed_by=("cloudcip.verification.decision.decide", f"{_APPLICATIONS}.submit"),
    ),
    Control(
        id="pending.deadline", section="A6",
        statement="When the deadline passes with evidence still owed, the case fails and the rule's failure "
                  "action is taken: the account is refused, closed, or kept restricted with the rule's failure "
                  "restrictions (the verification-deadline job of cloudcip serve, every minute).",
        performed_by=("cloudcip.verification.decision.enforce_deadline", f"{_APPLICATIONS}.enforce_deadlines",
                      "cloudcip.cli.service.serve"),
    ),
    Control(
        id="profile.deadline_bounds", section="A6",
        statement="Every rule's deadline lies between {profile.verification.min_deadline_days} and "
                  "{profile.verification.max_deadline_days} days, as the regulatory profile {profile.id} requires.",
        performed_by=("cloudcip.verification.profile.check_policy_against_profile",),
        switch="every rule's deadline is within the profile's bounds",
        enabled=lambda context: context.within_profile("pending.deadline"),
    ),
    Control(
        id="case.resolution_recorded", section="A6",
        statement="Each case keeps its history (every move with its reason, who made it and when), and each "
                  "unverifiable case records how it was resolved: by evidence, by a reviewer's decision, or by "
                  "the failure action with the evidence still owed.",
        performed_by=("cloudcip.domain.verification_case.VerificationCase.resolve", f"{_APPLICATIONS}.show"),
    ),
    Control(
        id="redress.reopens", section="A6",
        statement="A customer may seek redress as the policy says (quoted below); an analyst or compliance officer "
                  "records the request, which re-opens a refused, closed or restricted case for review.",
        performed_by=(f"{_APPLICATIONS}.review", "cloudcip.domain.verification_case.VerificationCase.redress"),
    ),
    Control(
        id="bo.addition", section="A7",
        statement="The customer notifies each new beneficial owner (POST /v1/applications/{{id}}/beneficial-owners): "
                  "the owner is checked, its U.S. or foreign status decided and screened, and the case re-evaluated; "
                  "a settled case is succeeded by a new case on the same account, restricted while pending. The "
                  "owner and the re-evaluation are stored together or not at all.",
        performed_by=(f"{_APPLICATIONS}.add_beneficial_owner", f"{_APPLICATIONS}.reopen"),
    ),
    Control(
        id="reverification.periodic", section="A7",
        statement="An approved case is re-verified at its rule's interval (the table below): the periodic "
                  "re-verification job of cloudcip serve opens a successor case on the same account that owes the "
                  "rule's evidence again, so the program applies to existing accounts as well as new ones.",
        performed_by=(f"{_APPLICATIONS}.reverify_due_cases", "cloudcip.verification.decision.reverification_due",
                      "cloudcip.cli.service.serve"),
    ),
    Control(
        id="profile.reverification_bound", section="A7",
        statement="No rule's interval is longer than the {profile.verification.max_reverification_interval_days} "
                  "days the regulatory profile {profile.id} allows.",
        performed_by=("cloudcip.verification.profile.check_policy_against_profile",),
        switch="every rule's interval is within the profile's maximum",
        enabled=lambda context: context.within_profile("reverification_interval_days"),
    ),
    Control(
        id="notice.recorded", section="A8",
        statement="The provider shows the customer the notice before the account is opened; each application records "
                  "the version of the notice the customer saw. An application that names no notice, or one cloudcip "
                  "does not know, is refused before anything is stored; one that names another version than its "
                  "rule's says so in its reasons (notice_version_differs).",
        performed_by=("cloudcip.verification.notices", "cloudcip.verification.decision.decide"),
        switch="the policy requires a notice (notice_required, the default)",
        enabled=lambda context: bool(getattr(context.policy, "notice_required", True)),
    ),
)

__all__ = ["CONTROLS", "OUTCOME_WORDS"]
