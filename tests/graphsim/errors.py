"""Meta Graph API errors: codes, titles, HTTP statuses, JSON envelope."""
import http
import secrets

# Titles as Meta prints them after "(#code) " (reference §5.2).
TITLES = {
    0: "AuthException",
    1: "API Unknown",
    2: "API Service",
    3: "API Method",
    4: "Application request limit reached",
    10: "Permission Denied",
    33: "Parameter value is not valid",
    100: "Invalid parameter",
    190: "Invalid OAuth access token - Cannot parse access token",
    200: "Permission error",
    368: "Temporarily blocked for policies violations",
    80007: "Rate limit issues",
    130403: "Business has blocked this user",
    130429: "Rate limit hit",
    130472: "User's number is part of an experiment",
    130497: "Business account is restricted from messaging users in this "
            "country",
    131000: "Something went wrong",
    131005: "Access denied",
    131008: "Required parameter is missing",
    131009: "Parameter value is not valid",
    131016: "Service unavailable",
    131021: "Recipient cannot be sender",
    131026: "Message Undeliverable",
    131030: "Recipient phone number not in allowed list",
    131031: "Account has been locked",
    131037: "WhatsApp provided number needs display name approval before "
            "message can be sent",
    131042: "Business eligibility payment issue",
    131045: "Incorrect certificate",
    131047: "Re-engagement message",
    131048: "Spam rate limit hit",
    131049: "This message was not delivered to maintain healthy ecosystem "
            "engagement.",
    131050: "Unable to deliver the message. This recipient has chosen to stop "
            "receiving marketing messages on WhatsApp from your business.",
    131051: "Unsupported message type",
    131052: "Media download error",
    131053: "Media upload error",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    131057: "Account in maintenance mode",
    131064: "Messaging limit reached due to template classification "
            "violations",
    132000: "Number of parameters does not match the expected number of "
            "params",
    132001: "Template name does not exist in the translation",
    132005: "Translated text too long",
    132007: "Format character policy violated",
    132012: "Parameter format does not match format in the created template",
    132015: "Template is Paused",
    132016: "Template is Disabled",
    133004: "Server temporarily unavailable",
    133010: "Account not registered",
    135000: "Generic user error",
}

DETAILS = {
    4: "The app has reached its API call rate limit.",
    80007: "The WhatsApp Business Account has reached its rate limit.",
    130429: "Cloud API message throughput has been reached.",
    131000: "Message failed to send due to an unknown error.",
    131016: "A service is temporarily unavailable.",
    131026: "Message could not be delivered to the recipient.",
    131047: "Message failed to send because more than 24 hours have passed "
            "since the customer last replied to this number.",
    131048: "Message failed to send because there are restrictions on how "
            "many messages can be sent from this phone number.",
    131049: "In order to maintain a healthy ecosystem engagement, the message "
            "failed to be delivered.",
    131053: "Unable to upload or download the media.",
    131056: "Message failed to send because there were too many messages sent "
            "from this phone number to the same phone number in a short "
            "period of time.",
    132015: "The template has been paused due to low quality.",
}

# HTTP status per code (reference §5.2, older Meta table); default 400.
HTTP_STATUS = {
    0: 401, 190: 401,
    3: 500, 131000: 500, 131057: 500, 133000: 500,
    2: 503, 131016: 503, 133004: 503,
    10: 403, 368: 403, 130497: 403, 131005: 403, 131031: 403,
}

HREF = "/documentation/business-messaging/whatsapp/support/error-codes"


def http_status_for(code):
    if code in HTTP_STATUS:
        return HTTP_STATUS[code]
    if 200 <= code <= 299:
        return 403
    return 400


def fbtrace_id():
    return "A" + secrets.token_urlsafe(16)[:22]


def title_of(code):
    return TITLES.get(code, "Error")


class GraphError(Exception):
    """One Graph error; .status and .envelope() give the HTTP answer."""

    def __init__(self, code, details=None, *, message=None, subcode=None,
                 etype="OAuthException", http_status=None, whatsapp=True):
        super().__init__(details or title_of(code))
        self.code = code
        self.details = details
        self.message = message or "(#%d) %s" % (code, title_of(code))
        self.subcode = subcode
        self.etype = etype
        self.status = http_status or http_status_for(code)
        self.whatsapp = whatsapp
        self.headers = []               # e.g. Retry-After (a fault's)

    def envelope(self):
        err = {"message": self.message, "type": self.etype, "code": self.code}
        if self.whatsapp:
            details = self.details or DETAILS.get(self.code) or \
                title_of(self.code)
            err["error_data"] = {"messaging_product": "whatsapp",
                                 "details": details}
        if self.subcode is not None:
            err["error_subcode"] = self.subcode
        err["fbtrace_id"] = fbtrace_id()
        return {"error": err}


class PlainError(Exception):
    """A bare HTTP failure without Graph's JSON envelope (a proxy or load
    balancer answering for Meta): text/plain body."""

    def __init__(self, status, text=None):
        super().__init__(text)
        self.status = status
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        self.text = text or phrase


def webhook_error(code, details=None):
    """The error object carried by a `failed` status (reference §1.9)."""
    title = title_of(code)
    return {"code": code, "title": title, "message": title,
            "error_data": {"details": details or DETAILS.get(code) or title},
            "href": HREF}


# --- the shapes validation and auth raise --------------------------------

def missing(path):
    return GraphError(131008, "The parameter %s is required." % path)


def invalid(path, why):
    return GraphError(131009, "Param %s %s" % (path, why))


def bad_param(path, why):
    """Code 100: unknown field, wrong JSON type, unknown type name."""
    return GraphError(100, "Param %s %s" % (path, why))


def param_message_error(path, why):
    """Code 100 whose message carries the detail, like Meta's media-id and
    URI errors ("(#100) Param image['id'] is not a valid ...")."""
    text = "Param %s %s" % (path, why)
    return GraphError(100, text, message="(#100) " + text)


def token_error(missing_token=False, expired=False):
    if missing_token:
        msg = "An active access token must be used to query information " \
              "about the current user."
    elif expired:
        msg = "Error validating access token: Session has expired."
    else:
        msg = title_of(190)
    return GraphError(190, message=msg, whatsapp=False,
                      subcode=463 if expired else None)


def no_object(method, obj_id):
    """Unknown id, or an id the token may not touch: 100/33."""
    msg = ("Unsupported %s request. Object with ID '%s' does not exist, "
           "cannot be loaded due to missing permissions, or does not support "
           "this operation. Please read the Graph API documentation at "
           "https://developers.facebook.com/docs/graph-api"
           % (method.lower(), obj_id))
    return GraphError(100, message=msg, subcode=33,
                      etype="GraphMethodException", whatsapp=False)


def unknown_path(rest):
    return GraphError(100, message="Unknown path components: %s" % rest,
                      etype="GraphMethodException", whatsapp=False)


def unknown_error():
    return GraphError(1, message="An unknown error has occurred.",
                      whatsapp=False, http_status=500)
