"""Texts named by a value: a state in words, a done action, an error by its code.

A page has the value ("no_show", "slot_full"), the catalog has German source texts: these
tables join the two, and mark each text for extraction (N_, NP_), so that `make i18n` finds
texts no template or call spells out."""

from __future__ import annotations

from waitboard.core.marks import N_, NP_, Message

#: kind -> value -> text; a page asks ``t.label(kind, value)``.
LABELS: dict[str, dict[str, Message]] = {
    # A ticket's state in a word (staff pages, error texts).
    "status": {
        "waiting": N_("wartend"),
        "called": N_("aufgerufen"),
        "serving": N_("in Bearbeitung"),
        "done": N_("erledigt"),
        "no_show": NP_("status.no_show", "nicht erschienen"),
        "cancelled": N_("storniert"),
    },
    # A ticket's state said to its holder.
    "ticket.status": {
        "waiting": N_("Sie warten"),
        "called": N_("Sie werden aufgerufen"),
        "serving": N_("Sie werden bedient"),
        "done": N_("Erledigt – vielen Dank"),
        "no_show": N_("Nicht erschienen"),
        "cancelled": N_("Storniert"),
    },
    # A booking's state.
    "booking.status": {
        "booked": N_("gebucht"),
        "arrived": N_("eingecheckt"),
        "cancelled": N_("abgesagt"),
    },
    # A booked appointment's row in the day's list.
    "staff.appt": {
        "booked": N_("erwartet"),
        "arrived": N_("da"),
        "arrived_late": N_("zu spät, ohne Termin"),
        "missed": NP_("staff.appt.missed", "nicht erschienen"),
        "cancelled": N_("abgesagt"),
    },
    # Why a counter pauses (the staff's choice, the reception's list, the statistics).
    "pause": {
        "break": NP_("pause.break", "Pause"),
        "paperwork": N_("Nacharbeit"),
        "meeting": N_("Besprechung"),
        "other": N_("Sonstiges"),
    },
    # What a counter's action did, said back to the advisor.
    "staff.done": {
        "recall": N_("{number} erneut aufgerufen."),
        "start": N_("Bedienung von {number} begonnen."),
        "complete": N_("{number} abgeschlossen."),
        "no-show": N_("{number} als nicht erschienen vermerkt."),
        "cancel": N_("{number} storniert."),
        "transfer": N_("{number} weitergeleitet."),
    },
}

#: (error code, reason or field or None) -> text: ``Translator.error`` takes the reason's
#: text, else the field's, else the code's; an error without one keeps its English detail.
ERRORS: dict[tuple[str, str | None], Message] = {
    ("not_found", None): N_("Diese Seite gibt es nicht (mehr). Bitte prüfen Sie die Adresse."),
    ("not_found", "ticket"): N_(
        "Diese Wartenummer gibt es nicht (mehr). Eine Wartenummer ist hier bis zwei Tage nach "
        "ihrem Ende zu sehen."
    ),
    ("login_required", None): N_("Bitte melden Sie sich an."),
    ("workplace_required", None): N_("Bitte wählen Sie zuerst Ihren Arbeitsplatz."),
    ("sign_in_ended", None): N_(
        "Ihre Anmeldung ist beendet. Bitte melden Sie sich noch einmal an."
    ),
    ("forbidden", None): N_("Dieses Gerät darf das nicht."),
    ("forbidden", "person"): N_(
        "Das gehört nicht zu dem Arbeitsplatz, an dem Sie angemeldet sind."
    ),
    ("csrf_failed", None): N_(
        "Das Formular ist abgelaufen. Bitte laden Sie die Seite neu und versuchen Sie es noch "
        "einmal."
    ),
    ("counter_closed", None): N_("Der Schalter ist geschlossen. Bitte öffnen Sie ihn zuerst."),
    ("counter_paused", None): N_(
        "Der Schalter ist in Pause. Bitte klicken Sie zuerst auf „Weiter“."
    ),
    ("counter_busy", None): N_(
        "Am Schalter ist noch Ticket {ticket}. Bitte schließen Sie es ab, melden Sie es als "
        "nicht erschienen oder leiten Sie es weiter."
    ),
    ("invalid_transition", None): N_("Ticket {ticket} ist {state} – das ist jetzt nicht möglich."),
    ("other_counter", None): N_("Ticket {ticket} ist an einem anderen Schalter."),
    ("same_queue", None): N_("Ticket {ticket} wartet bereits in dieser Warteschlange."),
    ("ticket_stop", None): N_("Ausgabestopp: In dieser Warteschlange warten zu viele Personen."),
    ("queue_closed", None): N_("Der Standort ist geschlossen."),
    ("unavailable", None): N_(
        "Das System ist gerade nicht erreichbar. Nichts wurde geändert – bitte gleich noch "
        "einmal versuchen."
    ),
    ("invalid_request", None): N_("Die Eingabe ist ungültig."),
    ("generic", None): N_("Diese Anfrage ist so nicht möglich."),
    ("internal", None): N_(
        "Bei uns ist etwas schiefgegangen. Es wurde protokolliert – bitte versuchen Sie es noch "
        "einmal."
    ),
    ("idempotency_key_reused", None): N_(
        "Diese Anfrage wurde bereits mit anderem Inhalt gestellt. Bitte laden Sie die Seite neu."
    ),
    ("unauthorized", None): N_("Dieses Gerät ist nicht angemeldet."),
    ("payload_too_large", None): N_("Die Eingabe ist zu groß."),
    ("unsupported_media_type", None): N_("Das Format der Eingabe wird nicht unterstützt."),
    ("bad_request", None): N_("Die Anfrage ist ungültig."),
    ("conflict", None): N_("Das ist im aktuellen Zustand nicht möglich."),
    ("internal_error", None): N_("Bei uns ist etwas schiefgegangen."),
    ("counter_state", None): N_("Das ist am Schalter gerade nicht möglich."),
    ("rate_limited", None): N_(
        "Von Ihrer Internetverbindung kamen gerade zu viele Anfragen. Bitte versuchen Sie es in "
        "{when} noch einmal."
    ),
    ("application_exists", None): N_("Den Antrag {number} gibt es schon."),
    ("application_not_found", None): N_(
        "Es gibt keinen Antrag {number}. Bitte prüfen Sie die Nummer."
    ),
    ("application_deleted_since", None): N_(
        "Der Antrag {number} wurde inzwischen gelöscht; nichts wurde geändert. Bitte prüfen Sie "
        "die Nummer."
    ),
    ("application_filed_anew", None): N_(
        "Der Antrag {number} wurde inzwischen gelöscht und neu angelegt; nichts wurde gelöscht. "
        "Bitte prüfen Sie, ob es der richtige ist."
    ),
    ("application_lookup_failed", None): N_(
        "Antragsnummer oder PIN stimmen nicht. Bitte prüfen Sie beides in unserem Schreiben und "
        "versuchen Sie es noch einmal."
    ),
    ("application_number_invalid", None): N_(
        "Eine Antragsnummer hat 4 bis 20 Zeichen: Buchstaben A–Z, Ziffern und Bindestriche."
    ),
    ("application_change_invalid", None): N_(
        "Stand und fehlende Unterlagen passen nicht zusammen: Nur „Unterlagen fehlen“ hat eine "
        "Liste, dann mit mindestens einer Unterlage – höchstens 20 Zeilen mit je bis zu 200 "
        "Zeichen."
    ),
    ("application_change_invalid", "too_long"): N_(
        "Zeile {line} der fehlenden Unterlagen hat {length} Zeichen; erlaubt sind höchstens "
        "{limit}. Bitte kürzen Sie sie oder teilen Sie sie auf zwei Zeilen auf."
    ),
    ("application_change_invalid", "control"): N_(
        "Zeile {line} der fehlenden Unterlagen enthält ein Steuerzeichen. Bitte schreiben Sie "
        "jede Unterlage als einfache Textzeile."
    ),
    ("application_change_invalid", "too_many"): N_(
        "Es sind {count} fehlende Unterlagen angegeben; höchstens {limit} sind möglich. Bitte "
        "fassen Sie Unterlagen zusammen."
    ),
    ("application_change_invalid", "none_named"): N_(
        "Beim Stand „Unterlagen fehlen“ nennen Sie bitte mindestens eine fehlende Unterlage "
        "(eine pro Zeile)."
    ),
    ("application_change_invalid", "not_for_stage"): N_(
        "Nur beim Stand „Unterlagen fehlen“ gibt es eine Liste fehlender Unterlagen. Bitte "
        "leeren Sie die Liste oder wählen Sie „Unterlagen fehlen“."
    ),
    ("application_change_invalid", "no_stage"): N_("Bitte wählen Sie einen Stand."),
    ("application_pin_invalid", None): N_("Die PIN hat 8 Ziffern."),
    ("too_many_attempts", None): N_(
        "Zu viele falsche Versuche. Bitte versuchen Sie es in {minutes}\u00a0Min. noch einmal."
    ),
    ("slot_full", None): N_("Diese Zeit ist ausgebucht. Bitte wählen Sie eine andere."),
    ("idempotency_key_in_use", None): N_(
        "Diese Anfrage wurde schon von einem anderen Gerät gestellt. Hier wurde nichts geändert. "
        "Bitte laden Sie die Seite neu und versuchen Sie es noch einmal."
    ),
    ("booking_not_found", None): N_(
        "Zu diesem Code gibt es hier keinen Termin. Bitte prüfen Sie den Code."
    ),
    ("booking_cancelled", None): N_(
        "Dieser Termin wurde abgesagt. Bitte buchen Sie einen neuen oder ziehen Sie eine "
        "Wartenummer."
    ),
    ("booking_arrived", None): N_("Dieser Termin ist schon eingecheckt (Wartenummer {number})."),
    ("booking_other_day", None): N_(
        "Ihr Termin ist am {date} um {time} Uhr, nicht heute. Bitte kommen Sie an diesem Tag "
        "wieder."
    ),
    ("booking_too_early", None): N_(
        "Ihr Termin ist um {time} Uhr. Einchecken können Sie ab {opens} Uhr."
    ),
    ("appointments_only", None): N_(
        "Für diese Warteschlange braucht man einen Termin: bitte mit dem Buchungscode einchecken."
    ),
    ("booking_state", None): N_("Das ist mit diesem Termin jetzt nicht möglich."),
    ("booking_passed", None): N_(
        "Ihr Termin war am {date} um {time} Uhr und ist vorbei. Bitte buchen Sie einen neuen "
        "Termin oder ziehen Sie eine Wartenummer."
    ),
    ("booking_elsewhere", None): N_(
        "Dieser Termin ist am Standort {name}, nicht hier. Bitte checken Sie dort ein."
    ),
    ("invalid_request", "reason"): N_("Bitte wählen Sie einen Grund für die Pause."),
    ("invalid_request", "code"): N_(
        "Ein Buchungscode besteht aus acht Zeichen (Buchstaben und Ziffern), zum Beispiel "
        "K7QM-4XPA. Bitte prüfen Sie die Eingabe."
    ),
}
