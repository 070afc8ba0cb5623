"""Pure secret handling shared by every facet: what looks secret, and how it is removed."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence

from repro_run.constants import SECRET_MASK

_URL_USERINFO = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@]*@)(?P<rest>.*)$"
)

# Random tokens have ~4-6 bits of entropy per character; words and identifiers have less.
MIN_ENTROPY_BITS = 3.5
# A URL's user alone (`https://NAME@host`) is a token only when it looks like one.
_MIN_TOKEN_USER_LEN = 16

# Shorter values are not scrubbed by value: masking every "1" or "true" in a log would destroy
# it. Such values are still never stored as env values (the name decides that).
MIN_SECRET_VALUE_LEN = 6

# A name is split into words at `_`, `-`, `.`, digits and camelCase humps, then matched word by
# word, so TOKEN matches HF_TOKEN and hubToken but not TOKENIZERS_PARALLELISM (scenario A4).
# Plurals TOKENS and KEYS are left out on purpose: --max_tokens and --sort_keys are settings.
_SECRET_WORDS = frozenset(
    {
        "TOKEN", "SECRET", "SECRETS", "PASSWORD", "PASSWORDS", "PASSWD", "PASS", "PW",
        "PASSPHRASE", "PWD", "KEY", "APIKEY", "ACCESSKEY", "PRIVATEKEY", "SECRETKEY",
        "CREDENTIAL", "CREDENTIALS", "CREDS", "AUTH", "AUTHORIZATION", "COOKIE", "COOKIES",
        "SESSION", "SIGNATURE", "SIG", "DSN", "WEBHOOK", "JWT", "BEARER", "PAT", "SALT",
    }
)  # fmt: skip
# Glued spellings (APIKEY, MYSQLPASSWORD) match anywhere inside one word; these are long and
# specific enough not to hit ordinary words, unlike TOKEN or KEY.
_SECRET_INFIXES = (
    "PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "CREDENTIAL", "APIKEY", "ACCESSKEY",
    "PRIVATEKEY", "AUTHTOKEN", "APITOKEN", "ACCESSTOKEN", "REFRESHTOKEN",
)  # fmt: skip
# A word ending in TOKEN is one glued to its owner (HUBTOKEN, MYTOKEN); TOKENIZERS is not.
_SECRET_SUFFIXES = ("TOKEN",)
# PWD alone is the shell's working directory, not a password (MYSQL_PWD is one).
_NOT_SECRET_NAMES = frozenset({"PWD", "OLDPWD"})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")

# Value shapes of well-known credentials. Anchored on their fixed prefixes so that paths,
# numbers and hashes (which have no such prefix) never match. Sources:
# https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids
# https://docs.gitlab.com/ee/security/token_overview.html  https://api.slack.com/authentication/token-types
_SECRET_VALUE_SHAPES = re.compile(
    "|".join(
        (
            r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}",  # GitHub
            r"\bgithub_pat_[A-Za-z0-9_]{20,}",
            r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",  # AWS access key id
            r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*:[^\s/@]+@",  # URL with a password in userinfo
            r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",  # JWT
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----",  # PEM
            r"\bxox[abprs]-[A-Za-z0-9-]{10,}",  # Slack
            r"\bhf_[A-Za-z0-9]{30,}",  # Hugging Face
            r"\bsk-[A-Za-z0-9_-]{20,}",  # OpenAI / Anthropic style
            r"\bglpat-[A-Za-z0-9_-]{20,}",  # GitLab
            r"\b[sr]k_live_[A-Za-z0-9]{20,}",  # Stripe
            r"\bAIza[0-9A-Za-z_-]{35}",  # Google API key
            r"\bnpm_[A-Za-z0-9]{36}",  # npm
            r"(?:(?<=Bearer )|(?<=bearer ))[A-Za-z0-9._~+/=-]{8,}",  # a bearer token (header)
        )
    )
)
# A URL inside a longer text (an argument, an env value): its credentials are checked apart.
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+")
# `name = "value"`, `name: value`, `"name": "value"`, `NAME=value` inside a longer text (JSON,
# YAML or Hydra given as one argument, a line of code): a secret name's value is a secret.
INLINE_ASSIGNMENT = re.compile(
    r"""(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)["']?\s*[:=]\s*[rbuf]?["']?(?P<value>[^\s"',;{}\[\]]+)"""
)
_ASSIGNMENT = re.compile(r"^(?P<name>[-+~]*[A-Za-z_][A-Za-z0-9_.-]*)=(?P<value>.*)$", re.DOTALL)


def strip_url_credentials(url: str) -> str:
    """Drop `user:password@` from a URL; scp-style `git@host:path` is not a credential."""
    match = _URL_USERINFO.match(url)
    if not match:
        return url
    return match.group("scheme") + match.group("rest")


def redact_url(url: str) -> str:
    """Strip userinfo, and mask query parameters with secret names (pre-signed URLs, `?token=`)."""
    url = strip_url_credentials(url)
    base, sep, query = url.partition("?")
    if not sep:
        return url
    fragment = ""
    if "#" in query:
        query, fragment = query.split("#", 1)
        fragment = "#" + fragment
    params = []
    for param in query.split("&"):
        secret = _secret_param(param) is not None
        params.append(f"{param.partition('=')[0]}={SECRET_MASK}" if secret else param)
    return f"{base}?{'&'.join(params)}{fragment}"


def _name_words(name: str) -> list[str]:
    return [word.upper() for word in _WORD.findall(name)]


def is_secret_name(name: str) -> bool:
    """Whether a variable, flag or parameter name says it holds a secret (HF_TOKEN, --api-key)."""
    stripped = name.lstrip("-+~")
    if stripped.upper() in _NOT_SECRET_NAMES:
        return False
    words = _name_words(stripped)
    if any(word in _SECRET_WORDS or word.endswith(_SECRET_SUFFIXES) for word in words):
        return True
    return any(infix in word for word in words for infix in _SECRET_INFIXES)


def looks_secret_value(value: str) -> bool:
    """Whether a value holds a credential: the shape of a well-known one (token prefix, URL
    password, PEM, bearer token), or a URL's user or secret-named query parameter."""
    return _SECRET_VALUE_SHAPES.search(value) is not None or bool(url_secrets(value))


def url_secrets(text: str) -> list[str]:
    """The credentials in the URLs of `text`: a password, an http(s) user that looks like a
    token (`https://TOKEN@host`; `https://alice@host` and `ssh://git@host` are names), and
    the values of secret-named query parameters (`?token=`, a signed URL's `sig=`)."""
    found: list[str] = []
    for url in _URL.findall(text):
        scheme, _, rest = url.partition("://")
        userinfo, at, _ = rest.partition("/")[0].rpartition("@")
        if at and userinfo:
            user, colon, password = userinfo.partition(":")
            if colon and password:
                found.append(password)
            elif scheme.lower() in ("http", "https") and _looks_random(user):
                found.append(user)
        query = url.partition("?")[2].partition("#")[0]
        found += [v for v in map(_secret_param, query.split("&") if query else ()) if v]
    return found


def _secret_param(param: str) -> str | None:
    """The value of a query parameter `name=value` whose name says it holds a secret."""
    name, eq, value = param.partition("=")
    return value if eq and value and is_secret_name(name) else None


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def _looks_random(text: str) -> bool:
    return len(text) >= _MIN_TOKEN_USER_LEN and entropy(text) >= MIN_ENTROPY_BITS


def inline_secret_values(text: str) -> list[str]:
    """The values of secret-named keys assigned inside `text` (`{"api_key": "X"}`)."""
    return [
        m.group("value")
        for m in INLINE_ASSIGNMENT.finditer(text)
        if is_secret_name(m.group("name"))
    ]


def secret_values(env: Mapping[str, str]) -> tuple[str, ...]:
    """Values the log scrubber must remove: those of env vars whose name or value looks secret.

    Longest first, so that a scrubber replacing them in order never leaves a longer secret's tail.
    """
    found: set[str] = set()
    for name, value in env.items():
        if is_secret_name(name) or looks_secret_value(value):
            found.add(value)
            found.update(url_secrets(value))  # a URL's password or token may be printed alone
    return _longest_first(found)


def _longest_first(values: Collection[str]) -> tuple[str, ...]:
    return tuple(
        sorted((v for v in values if len(v) >= MIN_SECRET_VALUE_LEN), key=lambda v: (-len(v), v))
    )


def mask_argv(argv: Sequence[str], secret_values: Collection[str]) -> tuple[str, ...]:
    """A copy of `argv` fit for storing: values of secret flags and secret-looking values masked.

    `--hub_token X`, `--password=X` and `db.password=X` (Hydra) lose their value; any element
    holding a known secret value, or shaped like a credential, is masked too.
    """
    # A "secret" that fits inside the mask itself cannot be masked, and protects nothing.
    known = sorted((v for v in secret_values if v not in SECRET_MASK), key=len, reverse=True)
    masked: list[str] = []
    mask_next = False
    for arg in argv:
        if mask_next and not _is_flag(arg):
            kept = SECRET_MASK
            mask_next = False
        else:
            mask_next = False
            assignment = _ASSIGNMENT.match(arg)
            if assignment and is_secret_name(assignment.group("name")):
                kept = f"{assignment.group('name')}={SECRET_MASK}"
            else:
                kept = arg
                # `--use_auth_token` may be a switch: then the next flag is left alone above.
                mask_next = _is_flag(arg) and "=" not in arg and is_secret_name(arg)
        masked.append(_mask_element(kept, known))
    return tuple(masked)


def argv_secret_values(argv: Sequence[str], secret_values: Collection[str]) -> tuple[str, ...]:
    """The values `mask_argv` hides, so the log scrubber can hide them too (the child may print
    its own arguments)."""
    hidden: list[str] = []
    for original, masked in zip(argv, mask_argv(argv, secret_values), strict=True):
        if original == masked:
            continue
        name, sep, _ = masked.partition("=")
        if sep and masked == f"{name}={SECRET_MASK}" and original.startswith(f"{name}="):
            hidden.append(original[len(name) + 1 :])
        else:
            hidden.append(original)
        # What the element holds may be printed on its own: `{"api_key": "X"}` prints X.
        hidden += inline_secret_values(original) + url_secrets(original)
        hidden += [m.group() for m in _SECRET_VALUE_SHAPES.finditer(original)]
    return tuple(v for v in hidden if len(v) >= MIN_SECRET_VALUE_LEN)


def _is_flag(arg: str) -> bool:
    return arg.startswith("-") and len(arg) > 1


def _mask_element(arg: str, known: Sequence[str]) -> str:
    for value in known:
        arg = arg.replace(value, SECRET_MASK)
    if any(value in arg for value in known):  # a value overlapping the mask itself
        return SECRET_MASK
    if looks_secret_value(arg) or inline_secret_values(arg):
        assignment = _ASSIGNMENT.match(arg)
        return f"{assignment.group('name')}={SECRET_MASK}" if assignment else SECRET_MASK
    return arg
