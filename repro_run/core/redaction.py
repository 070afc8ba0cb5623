"""Pure secret handling shared by every facet: what looks secret, and how it is removed."""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence

from repro_run.core.constants import SECRET_MASK
from repro_run.core.secretmatch import SecretMatcher

# The userinfo runs to the last `@` before the path: a password may hold an `@` of its own
# (`https://user:pa@ss@host`), and stopping at the first one would keep the rest of it.
_URL_USERINFO = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/]*@)(?P<rest>.*)$", re.DOTALL
)

# Random tokens have ~4-6 bits of entropy per character; words and identifiers have less.
MIN_ENTROPY_BITS = 3.5
# A URL's user alone (`https://NAME@host`) is a token only when it looks like one.
_MIN_TOKEN_USER_LEN = 16
# A package index can take its token in the path (`https://pkgs.example.com/simple/<token>/`,
# Gemfury's `https://pypi.fury.io/<token>/acct/`). In the URL of an index (a PEP 503 `simple`
# path, or a host or path segment named `pypi`) a segment that looks like a token (letters and
# digits, 16 or more, random) is a credential; elsewhere such segments are hashes and IDs.
_INDEX_WORDS = frozenset({"simple", "pypi"})
_TOKEN_SEGMENT = re.compile(r"(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_~+=-]{16,}")
# anaconda.org (and Anaconda's own servers) take a token as the path segment after `/t/`, for
# conda channels and pip indexes alike: `https://conda.anaconda.org/t/<token>/channel/...`,
# `https://pypi.anaconda.org/t/<token>/channel/simple` (conda's `split_anaconda_token` removes
# it the same way). A channel or index always follows the token; a last `/t/name` segment is a
# token only when it looks like one, so a git remote `https://host/t/repo.git` is left alone.
_ANACONDA_TOKEN = re.compile(r"/t/(?:[^/?#]+(?=/)|[A-Za-z0-9_~+=-]{16,}(?=[?#]|$))")

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
# Options whose value is `user:password`: curl's `-u`/`--user` and `-U`/`--proxy-user`, wget's
# and httpie's `--user`. Only the part after the first colon is masked.
_USER_PASSWORD_FLAGS = frozenset({"-u", "--user", "-U", "--proxy-user"})
# `-p` is a port (ssh, docker), `mkdir -p`, a profile... so it is a password only after the
# program whose option it is: `sshpass -p PASSWORD` (sshpass(1)) and the MySQL clients'
# `-pPASSWORD` (mysql(1): glued; `-p NAME` is a database there, and `-p` alone prompts). The
# first such option after the program's name is masked, never a later one (`ssh -p 22`).
_PROGRAM_PASSWORD_FLAGS = {
    "sshpass": ("-p", False),
    **{name: ("-p", True) for name in ("mysql", "mysqldump", "mysqladmin", "mariadb")},
}
# A connection string (ADO.NET, ODBC, Azure Storage's `AccountKey=`) is `name=value;` pairs,
# where a value runs to the next `;`, spaces included, and ODBC spells the password PWD.
_CONNECTION_PART = re.compile(
    # Words of a name are split by single spaces (`User Id`), so no run of spaces can be
    # matched two ways: the time stays linear on a hostile value.
    r"(?:^|;)\s*(?P<name>[A-Za-z][\w.-]*(?: [\w.-]+)*)\s*=\s*(?P<value>[^;]*[^;\s])"
)
# A secret parameter's value as recorded: the mask, the id of the store's key, a keyed digest.
_DIGEST_MASK = re.compile(re.escape(SECRET_MASK) + r":(?P<key>[0-9a-f]{6})/[0-9a-f]{12}")
_ASSIGNMENT = re.compile(r"^(?P<name>[-+~]*[A-Za-z_][A-Za-z0-9_.-]*)=(?P<value>.*)$", re.DOTALL)


def _strip_userinfo(url: str) -> str:
    """Drop `user:password@` from a URL; scp-style `git@host:path` is not a credential."""
    match = _URL_USERINFO.match(url)
    if not match:
        return url
    return match.group("scheme") + match.group("rest")


def redact_url(url: str) -> str:
    """The one removal of credentials from a URL (package indexes, conda channels and archives,
    direct URLs, git remotes): strip userinfo and an anaconda.org-style `/t/<token>` (what is
    left still names the index or channel, and fetches from it where the user is logged in),
    and mask a package index's token in the path and query parameters with secret names
    (pre-signed URLs, `?token=`)."""
    url = _ANACONDA_TOKEN.sub("", _strip_userinfo(url), count=1)
    for token in _index_path_tokens(url):
        url = url.replace(f"/{token}", f"/{SECRET_MASK}")
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
        found += _index_path_tokens(url)
    return found


def _index_path_tokens(url: str) -> list[str]:
    """The path segments of a package index URL that look like tokens (`/simple/<token>/`)."""
    rest = url.partition("://")[2]
    authority, _, path = rest.partition("/")
    segments = path.partition("?")[0].partition("#")[0].split("/")
    host_labels = authority.rpartition("@")[2].lower().split(".")
    if not _INDEX_WORDS.intersection(host_labels + [s.lower() for s in segments]):
        return []
    return [s for s in segments if _TOKEN_SEGMENT.fullmatch(s) and _looks_random(s)]


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
    """The values of secret-named keys assigned inside `text` (`{"api_key": "X"}`), and of a
    connection string's secret parts (`Server=h;User Id=u;Password=X;`)."""
    found = [
        m.group("value")
        for m in INLINE_ASSIGNMENT.finditer(text)
        if is_secret_name(m.group("name"))
    ]
    if ";" in text:
        for m in _CONNECTION_PART.finditer(text):
            name = m.group("name").replace(" ", "")
            if is_secret_name(name) or name.upper() == "PWD":
                found.append(m.group("value"))
    return found


def is_secret_env(name: str, value: str) -> bool:
    """Whether an env var holds a secret: by its name, its value's shape, or a secret-named
    key inside it (`SLURM_JOB_COMMENT='{"api_key": …}'`, a connection string's `Password=`)."""
    return is_secret_name(name) or looks_secret_value(value) or bool(inline_secret_values(value))


def secret_values(env: Mapping[str, str]) -> tuple[str, ...]:
    """Values the log scrubber must remove: those of env vars that hold a secret, and the
    secrets inside them (a URL's password, a JSON key's value), which may be printed alone.

    Longest first, so that a scrubber replacing them in order never leaves a longer secret's tail.
    """
    found: set[str] = set()
    for name, value in env.items():
        if is_secret_env(name, value):
            found.add(value)
            found.update(url_secrets(value) + inline_secret_values(value))
    return _longest_first(found)


def _longest_first(values: Collection[str]) -> tuple[str, ...]:
    return tuple(
        sorted((v for v in values if len(v) >= MIN_SECRET_VALUE_LEN), key=lambda v: (-len(v), v))
    )


def mask_argv(argv: Sequence[str], secret_values: Collection[str]) -> tuple[str, ...]:
    """A copy of `argv` fit for storing: values of secret flags and secret-looking values masked.

    `--hub_token X`, `--password=X` and `db.password=X` (Hydra) lose their value, and so does
    the password of `-u user:password` (`_USER_PASSWORD_FLAGS`) and of `sshpass -p X` or
    `mysql -pX` (`_PROGRAM_PASSWORD_FLAGS`); any element holding a known secret value, or
    shaped like a credential, is masked too.
    """
    # A "secret" that fits inside the mask itself cannot be masked, and protects nothing.
    known = _matcher(tuple(v for v in secret_values if v not in SECRET_MASK))
    masked: list[str] = []
    mask_next = user_next = False  # the element before was a secret flag, a user:password one
    password_flag = None  # the password option of the program named last, until it is used
    for arg in argv:
        if (mask_next or user_next) and not _is_flag(arg):
            kept = SECRET_MASK if mask_next else _without_password(arg)
            mask_next = user_next = False
        elif password_flag is not None and arg.startswith(password_flag[0]):
            option, glued_only = password_flag
            glued = arg[len(option) :]
            kept = option + SECRET_MASK if glued else arg
            mask_next, user_next, password_flag = not glued and not glued_only, False, None
        else:
            kept = _masked_assignment(arg)
            password_flag = _PROGRAM_PASSWORD_FLAGS.get(arg.rpartition("/")[2], password_flag)
            # `--use_auth_token` may be a switch: then the next flag is left alone above.
            mask_next = _is_flag(arg) and "=" not in arg and is_secret_name(arg)
            user_next = arg in _USER_PASSWORD_FLAGS
        masked.append(_mask_element(kept, known))
    return tuple(masked)


def _masked_assignment(arg: str) -> str:
    """`--password=X` -> `--password=***`, `--user=u:X` -> `--user=u:***`; others unchanged."""
    assignment = _ASSIGNMENT.match(arg)
    if assignment is None:
        return arg
    name, value = assignment.group("name"), assignment.group("value")
    if name in _USER_PASSWORD_FLAGS:
        return f"{name}={_without_password(value)}"
    return f"{name}={SECRET_MASK}" if is_secret_name(name) else arg


@functools.lru_cache(maxsize=4)
def _matcher(secret_values: tuple[str, ...]) -> SecretMatcher:
    """One matcher per set of secrets: a run masks its argv, exec argv and start line with it."""
    return SecretMatcher(secret_values)


def _without_password(credentials: str) -> str:
    """`user:password` -> `user:***`; `1000:1000` (docker's uid:gid) and `user` are kept."""
    user, colon, password = credentials.partition(":")
    if not colon or not password or password.isdigit():
        return credentials
    return f"{user}:{SECRET_MASK}"


def argv_secret_values(argv: Sequence[str], secret_values: Collection[str]) -> tuple[str, ...]:
    """The values `mask_argv` hides, so the log scrubber can hide them too (the child may print
    its own arguments)."""
    hidden: list[str] = []
    for original, masked in zip(argv, mask_argv(argv, secret_values), strict=True):
        if original == masked:
            continue
        # One mask between kept text (`--password=***`, `admin:***`): what it stands for.
        before, sep, after = masked.partition(SECRET_MASK)
        end = len(original) - len(after)
        if sep and SECRET_MASK not in after and original.startswith(before) and end > len(before):
            hidden.append(original[len(before) : end] if original.endswith(after) else original)
        else:
            hidden.append(original)
        # What the element holds may be printed on its own: `{"api_key": "X"}` prints X.
        hidden += inline_secret_values(original) + url_secrets(original)
        hidden += [m.group() for m in _SECRET_VALUE_SHAPES.finditer(original)]
    return tuple(v for v in hidden if len(v) >= MIN_SECRET_VALUE_LEN)


def mask_text(text: str, secret_values: Collection[str]) -> str:
    """Free text (a traceback) fit for storing: known secret values masked, also as `repr`
    quotes them, and so is every credential-shaped or secret-named value within it."""
    found = [m.group() for m in _SECRET_VALUE_SHAPES.finditer(text)]
    found += url_secrets(text) + inline_secret_values(text)
    known = [*secret_values, *(repr(v)[1:-1] for v in secret_values), *found]
    matcher = SecretMatcher([v for v in known if len(v) >= MIN_SECRET_VALUE_LEN])
    return mask_spans(text, matcher.spans(text))


def mask_spans(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """`text` with each (start, end) span replaced by the mask."""
    pieces, pos = [], 0
    for start, end in spans:
        pieces += [text[pos:start], SECRET_MASK]
        pos = end
    return "".join(pieces) + text[pos:]


def _is_flag(arg: str) -> bool:
    return arg.startswith("-") and len(arg) > 1


def _mask_element(arg: str, known: SecretMatcher) -> str:
    spans = known.spans(arg)
    if spans:
        arg = mask_spans(arg, spans)
        if known.spans(arg):  # a value overlapping the mask itself
            return SECRET_MASK
    if looks_secret_value(arg) or inline_secret_values(arg):
        assignment = _ASSIGNMENT.match(arg)
        return f"{assignment.group('name')}={SECRET_MASK}" if assignment else SECRET_MASK
    return arg


def digest_mask(value: str, key: bytes) -> str:
    """A secret value as a record keeps it, `***:<key id>/<digest>`: nothing of the value, yet
    two runs can tell whether theirs were the same. The digest is keyed (BLAKE2b's MAC mode,
    the key in the store): unkeyed, a 48-bit digest of a short password is found by hashing a
    dictionary of passwords until one matches."""
    key_id = hashlib.blake2b(key, digest_size=3).hexdigest()
    data = value.encode("utf-8", "surrogateescape")
    return f"{SECRET_MASK}:{key_id}/{hashlib.blake2b(data, key=key, digest_size=6).hexdigest()}"


def digests_comparable(a: str, b: str) -> bool:
    """False when both are `digest_mask`s made with different keys (runs of different stores,
    one imported): equal values then give different digests, so a difference says nothing."""
    first, second = _DIGEST_MASK.fullmatch(a), _DIGEST_MASK.fullmatch(b)
    return first is None or second is None or first["key"] == second["key"]
