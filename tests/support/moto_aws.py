#!/usr/bin/env python3
"""Test support: moto's server on 127.0.0.1, made to behave like AWS where our tests need it.

moto deviates from CloudFront (see the README, "Testing locally"): its invalidations are always COMPLETED and it
ignores CallerReference. Here, without touching the product:
  * a new invalidation is `InProgress` and becomes `Completed` after N GetInvalidation reads
    (N = --complete-after, or POST /_cfstub/config {"complete_after_reads": N}; 0 = at once,
    a negative N = never), or S seconds after it was created (S = --complete-after-seconds, or
    POST /_cfstub/config {"complete_after_seconds": S}; a negative S or null = never; S is fixed
    for an invalidation when it is created, so a test can make one long-running and the next
    short), whichever comes first; POST /_cfstub/complete {"id": ID} (or {} for all) completes
    invalidations now. The status is the same in GetInvalidation and in ListInvalidations;
  * ListInvalidations lists newest first, as CloudFront does (moto: oldest first);
  * the in-progress quota per distribution, which moto does not keep, as CloudFront keeps it
    (--quota, or POST /_cfstub/config {"quota": true}): 3,000 exact paths and, independently,
    15 wildcard paths in progress; a create that would exceed either gets HTTP 400
    `TooManyInvalidationsInProgress`.
    Off by default, because `make compare` runs the usual Python function on a 10,000-key batch,
    which CloudFront itself would refuse past its first 3,000 paths. GET /_cfstub/in_progress
    gives each distribution's counts;
  * CallerReference is honoured: the same reference with the same paths returns the existing
    invalidation; with other paths, `InvalidationBatchAlreadyExists`;
  * paths are checked as CloudFront does (leading '/', '*' only last, at most 3,000 per batch), and
    cache tags (`#tag`) by CloudFront's tag rules;
  * faults can be queued for the next matching requests (POST /_cfstub/faults), and every
    CloudFront call is logged (GET /_cfstub/log), so tests can see retries end to end;
  * Step Functions Choice rules compare RFC 3339 timestamps as AWS does;
  * a Step Functions task with `"Credentials": {"RoleArn": ...}` runs as that role, as in AWS (moto's
    interpreter signs every call with its own keys): the role is assumed through moto's STS, so the
    call reaches the role's account;
  * distribution tenants (CloudFront SaaS Manager), which moto does not have: the three tenant
    invalidation operations on CloudFront's wire paths, as the SDKs send them
    (POST/GET /2020-05-31/distribution-tenant/{Id}/invalidation, GET .../invalidation/{InvId}), with
    the same rules as a distribution's (CallerReference, paths, statuses, the quota) and AWS's
    `EntityNotFound` (404) for a tenant it does not know. Tenants are made with --tenants
    dt_a=PARENT,... or POST /_cfstub/tenant {"id", "distribution_id"}; a tenant lists only its own
    invalidations. Whether the quota counts per tenant or on the parent is unsettled at AWS: per
    tenant by default, on the parent (with the parent's own and every sibling's) with
    POST /_cfstub/config {"tenant_quota_on_parent": true}. Whether a parent's ListInvalidations (and
    GetInvalidation) also holds its tenants' invalidations is unsettled too: its own only by default,
    its tenants' as well with POST /_cfstub/config {"parent_lists_tenants": true}. Step Functions'
    `aws-sdk:cloudfront:getInvalidationForDistributionTenant` reaches them over the wire too
    (moto's botocore predates the operation, so the launcher gives its client the call);
  * invalidations made at a given `CreateTime`, so that tests can fill past months:
    POST /_cfstub/invalidations {"distribution_id", "invalidations": [{"caller_reference", "paths",
    "create_time": RFC 3339}, ...]} creates them as CreateInvalidation does (CallerReference, paths),
    dates them and completes them (an old invalidation is long completed); the list stays newest
    first by CreateTime. Answers {"ids": [...]}, in the order given;
  * moto's Lambda `invoke` (no Docker) can be forwarded to a Lambda Runtime API emulator such as
    `cargo lambda watch` (--lambda-endpoint), so Step Functions runs the real binary.

Prints one JSON line {"endpoint": ..., "port": ..., "distributions": [...]} when ready, then
serves until stdin closes or it is killed. Binds 127.0.0.1 on a free port unless --port is given.
"""
import argparse
import itertools
import json
import os
import re
import sys
import threading
import time
import urllib.request

from moto.cloudfront import models as cf_models
from moto.cloudfront.exceptions import CloudFrontException
from moto.server import ThreadedMotoServer
from moto.utilities.paginator import paginate

STATE = {"complete_after_reads": 1, "complete_after_seconds": None, "quota": False, "tenant_quota_on_parent": False,
         "parent_lists_tenants": False, "faults": [], "log": []}
# Distribution tenants: tenant id -> parent distribution id (in moto's default account). Their
# invalidations are kept in the backend's `invalidations` under the tenant's id.
TENANTS = {}
CONFIG_KEYS = ("complete_after_reads", "complete_after_seconds", "quota", "tenant_quota_on_parent",
               "parent_lists_tenants")
# The order invalidations were made in, across distributions and tenants (a merged list's order).
SEQUENCE = itertools.count()
# CloudFront's quotas per distribution: exact paths and wildcard paths in progress, counted apart.
MAX_PATHS_IN_PROGRESS = 3000
MAX_WILDCARDS_IN_PROGRESS = 15
# The CloudFront backends that have had invalidations (for the control API's views of them).
BACKENDS = []
LOCK = threading.Lock()


class InvalidationBatchAlreadyExists(CloudFrontException):
    def __init__(self, ref):
        super().__init__("InvalidationBatchAlreadyExists",
                         f"Invalidation batch specified is already in use: CallerReference {ref}")


class InvalidArgument(CloudFrontException):
    def __init__(self, msg):
        super().__init__("InvalidArgument", msg)


class BatchTooLarge(CloudFrontException):
    def __init__(self):
        super().__init__("BatchTooLarge", "Invalidation batch specified is too large.")


class TooManyInvalidationsInProgress(CloudFrontException):
    def __init__(self):
        super().__init__("TooManyInvalidationsInProgress", "Your request contains too many invalidations in progress.")


_orig_create = cf_models.CloudFrontBackend.create_invalidation
_orig_get = cf_models.CloudFrontBackend.get_invalidation


# CloudFront cache tags (docs/aws-facts.md, "Cache tags"): an item `#tag` names a tag, never a
# path: 1 to 256 characters of ASCII 33-126 after the '#', no commas (the origin's header separates
# tags with them), no wildcard. Each is billed like a path, so it counts in the 3,000 of a batch.
TAG = re.compile(r"#[\x21-\x29\x2b\x2d-\x7e]{1,256}")


def _check_paths(paths):
    if len(paths) > 3000:
        raise BatchTooLarge()
    for p in paths:
        if p.startswith("#"):
            if not TAG.fullmatch(p):
                raise InvalidArgument(f"Your request contains one or more invalid cache tags: {p[:100]}")
        elif not p.startswith("/") or len(p) > 4000 or "*" in p[:-1] or re.search(r"[\x00-\x20\x7f-\uffff<>\"{}|\\^\[\]`]", p):
            raise InvalidArgument(f"Your request contains one or more invalid invalidation paths: {p[:100]}")


def _counts(paths):
    wildcards = sum(1 for p in paths if p.endswith("*"))
    return len(paths) - wildcards, wildcards


def _quota_pool(dist_id):
    """The ids whose invalidations share one quota with `dist_id`'s (a distribution or a tenant)."""
    if not STATE["tenant_quota_on_parent"]:
        return [dist_id]
    parent = TENANTS.get(dist_id, dist_id)
    return [parent] + [t for t, p in TENANTS.items() if p == parent]


def in_progress(backend, dist_id):
    """(exact paths, wildcard paths) in progress now against the quota of a distribution or tenant."""
    exact = wildcards = 0
    for inv in [i for key in _quota_pool(dist_id) for i in backend.invalidations.get(key, [])]:
        if inv.status == "InProgress":
            e, w = _counts(inv.paths)
            exact, wildcards = exact + e, wildcards + w
    return exact, wildcards


def create_invalidation(self, dist_id, paths, caller_ref, tenant=None):
    """A distribution's invalidation, or with `tenant` (its parent as `dist_id`) the tenant's."""
    dist, _ = self.get_distribution(dist_id)  # NoSuchDistribution first, as AWS does
    key = tenant or dist_id
    paths = list(paths or [])
    _check_paths(paths)
    with LOCK:  # the check and the create are one step, as at CloudFront
        if self not in BACKENDS:
            BACKENDS.append(self)
        for inv in self.invalidations.get(key, []):
            if inv.caller_ref == caller_ref:
                if sorted(inv.paths) == sorted(paths):
                    return inv
                raise InvalidationBatchAlreadyExists(caller_ref)
        if STATE["quota"]:
            exact, wildcards = in_progress(self, key)
            new_exact, new_wildcards = _counts(paths)
            if exact + new_exact > MAX_PATHS_IN_PROGRESS or wildcards + new_wildcards > MAX_WILDCARDS_IN_PROGRESS:
                raise TooManyInvalidationsInProgress()
        if tenant is None:
            inv = _orig_create(self, dist_id, paths, caller_ref)
        else:
            inv = cf_models.Invalidation(dist, paths, caller_ref)
            self.invalidations.setdefault(tenant, []).append(inv)
        inv.reads = 0
        inv.seq = next(SEQUENCE)
        inv.created_at = time.monotonic()
        inv.complete_after_seconds = STATE["complete_after_seconds"]
        inv.status = "Completed" if STATE["complete_after_reads"] == 0 else "InProgress"
    return inv


def _listed(self, dist_id):
    """A distribution's invalidations, oldest first: its own, and with `parent_lists_tenants` its
    tenants' too (whether CloudFront lists them there is unsettled)."""
    own = list(self.invalidations.get(dist_id) or [])
    if STATE["parent_lists_tenants"]:
        for tenant, parent in TENANTS.items():
            if parent == dist_id:
                own += self.invalidations.get(tenant, [])
        own.sort(key=lambda i: getattr(i, "seq", -1))
    return own


def get_invalidation(self, dist_id, inv_id, tenant=None):
    if tenant is None:
        inv = next((i for i in _listed(self, dist_id) if i.id == inv_id), None)
        if inv is None:
            inv = _orig_get(self, dist_id, inv_id)
    else:
        inv = next((i for i in self.invalidations.get(tenant, []) if i.id == inv_id), None)
        if inv is None:
            raise cf_models.NoSuchInvalidation
    with LOCK:
        inv.reads = getattr(inv, "reads", 0) + 1
        n = STATE["complete_after_reads"]
        if inv.status == "InProgress" and 0 <= n < inv.reads:
            inv.status = "Completed"
    return inv


def _status(inv):
    """An invalidation's status, wherever it is read (GetInvalidation, ListInvalidations, the quota):
    `InProgress` turns `Completed` once its time has come."""
    status = inv.__dict__.get("_cfstub_status", "COMPLETED")
    after = inv.__dict__.get("complete_after_seconds")
    if status == "InProgress" and after is not None and after >= 0 and time.monotonic() - inv.created_at >= after:
        status = inv.__dict__["_cfstub_status"] = "Completed"
    return status


def _set_status(inv, value):
    inv.__dict__["_cfstub_status"] = value


@paginate(pagination_model=cf_models.CloudFrontBackend.PAGINATION_MODEL)
def list_invalidations(self, dist_id):
    self.get_distribution(dist_id)  # NoSuchDistribution, as AWS answers (moto lists nothing)
    # moto lists oldest first; CloudFront newest first (the handler stops paging at the first
    # page without an InProgress entry, which is only right newest first).
    return list(reversed(_listed(self, dist_id)))


# Distributions get the ids a test or the demo asks for (moto draws random ones), so that the
# sample events in events/ can name a real distribution of the stand-in.
WANTED_IDS = []
_orig_dist_init = cf_models.Distribution.__init__


def dist_init(self, *a, **kw):
    _orig_dist_init(self, *a, **kw)
    if WANTED_IDS:
        new = WANTED_IDS.pop(0)
        self.arn = self.arn[: -len(self.distribution_id)] + new
        self.distribution_id = self.id = new


cf_models.Distribution.__init__ = dist_init
cf_models.CloudFrontBackend.create_invalidation = create_invalidation
cf_models.CloudFrontBackend.get_invalidation = get_invalidation
cf_models.CloudFrontBackend.list_invalidations = list_invalidations
cf_models.Invalidation.status = property(_status, _set_status)


# The tenant operations' wire paths (aws-sdk-cloudfront's serializers; botocore's model agrees).
TENANT_PATH = re.compile(r"^/2020-05-31/distribution-tenant/([^/]+)/invalidation(?:/([^/]+))?/?$")
XMLNS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"


def operation(method, path):
    if TENANT_PATH.match(path):
        if method == "POST":
            return "CreateInvalidationForDistributionTenant"
        return ("GetInvalidationForDistributionTenant" if TENANT_PATH.match(path).group(2)
                else "ListInvalidationsForDistributionTenant")
    if "/distribution/" not in path or "/invalidation" not in path:
        return None
    if method == "POST":
        return "CreateInvalidation"
    return "GetInvalidation" if re.search(r"/invalidation/[^/]+$", path) else "ListInvalidations"


def error_body(code, message):
    return (f'<?xml version="1.0"?><ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">'
            f'<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>'
            f'<RequestId>cfstub</RequestId></ErrorResponse>').encode()


def _xml_time(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _invalidation_xml(inv):
    from xml.sax.saxutils import escape
    items = "".join(f"<Path>{escape(p)}</Path>" for p in inv.paths)
    return (f'<Invalidation xmlns="{XMLNS}"><Id>{inv.id}</Id><Status>{inv.status}</Status>'
            f'<CreateTime>{_xml_time(inv.create_time)}</CreateTime><InvalidationBatch>'
            f'<Paths><Quantity>{len(inv.paths)}</Quantity><Items>{items}</Items></Paths>'
            f'<CallerReference>{escape(inv.caller_ref)}</CallerReference></InvalidationBatch></Invalidation>')


def tenant_api(method, path, environ, start_response):
    """CreateInvalidationForDistributionTenant, GetInvalidationForDistributionTenant and
    ListInvalidationsForDistributionTenant, answered as CloudFront answers them."""
    import urllib.parse
    import xml.etree.ElementTree as ET
    tenant, inv_id = TENANT_PATH.match(path).groups()
    tenant = urllib.parse.unquote(tenant)

    def reply(status, body, headers=()):
        data = ('<?xml version="1.0" encoding="UTF-8"?>' + body).encode()
        start_response(status, [("Content-Type", "text/xml"), ("Content-Length", str(len(data))),
                                ("x-amzn-RequestId", "cfstub"), *headers])
        return [data]

    def error(status, code, message):
        data = error_body(code, message)
        start_response(status, [("Content-Type", "text/xml"), ("Content-Length", str(len(data))),
                                ("x-amzn-RequestId", "cfstub")])
        return [data]

    parent = TENANTS.get(tenant)
    if parent is None:
        return error("404 Not Found", "EntityNotFound", f"The specified distribution tenant {tenant} does not exist.")
    backend = cf_models.cloudfront_backends[DEFAULT_ACCOUNT]["aws"]
    try:
        if method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            if not body:
                return error("400 Bad Request", "MissingBody", "This operation requires a body.")
            root = ET.fromstring(body)
            ns = {"cf": XMLNS}
            paths = [p.text or "" for p in root.findall("./cf:Paths/cf:Items/cf:Path", ns)]
            quantity = int(root.findtext("./cf:Paths/cf:Quantity", "-1", ns))
            if quantity != len(paths):
                return error("400 Bad Request", "InconsistentQuantities", "The value of Quantity and the size of Items don't match.")
            caller_ref = root.findtext("./cf:CallerReference", "", ns)
            inv = create_invalidation(backend, parent, paths, caller_ref, tenant=tenant)
            location = f"https://cloudfront.amazonaws.com/2020-05-31/distribution-tenant/{tenant}/invalidation/{inv.id}"
            return reply("201 Created", _invalidation_xml(inv), [("Location", location)])
        if inv_id:
            return reply("200 OK", _invalidation_xml(get_invalidation(backend, parent, inv_id, tenant=tenant)))
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        marker = (query.get("Marker") or [""])[0]
        max_items = int((query.get("MaxItems") or ["100"])[0])
        newest_first = list(reversed(backend.invalidations.get(tenant, [])))
        start = next((n for n, i in enumerate(newest_first) if i.id == marker), len(newest_first)) if marker else 0
        page, rest = newest_first[start:start + max_items], newest_first[start + max_items:]
        items = "".join(f"<InvalidationSummary><Id>{i.id}</Id><CreateTime>{_xml_time(i.create_time)}</CreateTime>"
                        f"<Status>{i.status}</Status></InvalidationSummary>" for i in page)
        next_marker = f"<NextMarker>{rest[0].id}</NextMarker>" if rest else ""
        return reply("200 OK", f'<InvalidationList xmlns="{XMLNS}"><Marker>{marker}</Marker>{next_marker}'
                               f'<MaxItems>{max_items}</MaxItems><IsTruncated>{"true" if rest else "false"}</IsTruncated>'
                               f'<Quantity>{len(page)}</Quantity><Items>{items}</Items></InvalidationList>')
    except CloudFrontException as e:
        status = {"NoSuchInvalidation": "404 Not Found", "BatchTooLarge": "413 Request Entity Too Large"}
        return error(status.get(e.code, "400 Bad Request"), e.code, e.message)


DEFAULT_ACCOUNT = "123456789012"


def create_tenant(tenant, parent):
    """A distribution tenant of `parent` (a distribution of moto's default account)."""
    backend = cf_models.cloudfront_backends[DEFAULT_ACCOUNT]["aws"]
    if parent not in backend.distributions:
        raise ValueError(f"no distribution {parent} for tenant {tenant}")
    with LOCK:
        TENANTS[tenant] = parent
        if backend not in BACKENDS:
            BACKENDS.append(backend)


def create_dated(dist_id, specs):
    """Invalidations of a distribution of moto's default account made at the given CreateTimes,
    completed; the distribution's list re-sorted by CreateTime (it is listed newest first)."""
    import datetime
    backend = cf_models.cloudfront_backends[DEFAULT_ACCOUNT]["aws"]
    ids = []
    for spec in specs:
        inv = create_invalidation(backend, dist_id, spec["paths"], spec["caller_reference"])
        t = datetime.datetime.fromisoformat(spec["create_time"].replace("Z", "+00:00"))
        with LOCK:
            inv.create_time = t.astimezone(datetime.timezone.utc).replace(tzinfo=None)
            inv.status = "Completed"
        ids.append(inv.id)
    with LOCK:
        backend.invalidations.get(dist_id, []).sort(key=lambda i: i.create_time)
    return ids


class Control:
    """WSGI middleware: the /_cfstub/ control API, fault injection and the call log."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if path.startswith("/_cfstub/"):
            return self.control(method, path, environ, start_response)
        op = operation(method, path)
        if op is None:
            return self.app(environ, start_response)
        with LOCK:
            # The access key that signed the call: tests see whose credentials were used (an assumed
            # role's, for a distribution in another account).
            key = re.search(r"Credential=([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
            STATE["log"].append({"op": op, "path": path, "t": time.time(), "key": key.group(1) if key else None})
            fault = next((f for f in STATE["faults"] if f.get("op", op) == op), None)
            if fault is not None:
                STATE["faults"].remove(fault)
        app = self.app
        if TENANT_PATH.match(path):
            def app(environ, start_response):
                return tenant_api(method, path, environ, start_response)
        if fault is None:
            return app(environ, start_response)
        if fault.get("delay"):
            time.sleep(float(fault["delay"]))
            if not fault.get("status"):
                return app(environ, start_response)
        if fault.get("reset"):
            # Drop the connection without a response: SO_LINGER 0 makes the eventual close an RST,
            # and shutting the socket down now ends the exchange (werkzeug would otherwise wait for
            # the next request on the kept-alive connection).
            import socket as _s
            import struct
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                sock.setsockopt(_s.SOL_SOCKET, _s.SO_LINGER, struct.pack("ii", 1, 0))
                sock.shutdown(_s.SHUT_RDWR)
            raise ConnectionResetError("cfstub: injected connection reset")
        status = int(fault.get("status", 400))
        body = error_body(fault.get("code", "InternalError"), fault.get("message", "injected fault"))
        start_response(f"{status} Injected", [("Content-Type", "text/xml"), ("Content-Length", str(len(body))),
                                             ("x-amzn-RequestId", "cfstub")])
        return [body]

    def control(self, method, path, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
        if path == "/_cfstub/distribution" and method == "POST":
            out = {"distribution_id": create_distribution(ENDPOINT[0], body.get("comment", "test"), body.get("id"),
                                                          body.get("account"))}
            return self.reply(start_response, out)
        if path == "/_cfstub/invalidations" and method == "POST":
            return self.reply(start_response, {"ids": create_dated(body["distribution_id"], body["invalidations"])})
        if path == "/_cfstub/tenant" and method == "POST":
            create_tenant(body["id"], body["distribution_id"])
            return self.reply(start_response, {"id": body["id"], "distribution_id": body["distribution_id"]})
        with LOCK:
            if path == "/_cfstub/config" and method == "POST":
                STATE.update({k: v for k, v in body.items() if k in CONFIG_KEYS})
                out = {k: STATE[k] for k in CONFIG_KEYS}
            elif path == "/_cfstub/complete" and method == "POST":
                done = []
                for b in backends():
                    for invs in b.invalidations.values():
                        for inv in invs:
                            if inv.status == "InProgress" and body.get("id", inv.id) == inv.id:
                                inv.status = "Completed"
                                done.append(inv.id)
                out = {"completed": done}
            elif path == "/_cfstub/in_progress":
                out = {}
                for b in backends():
                    for dist_id in list(b.distributions) + [t for t in TENANTS if b.invalidations.get(t)]:
                        exact, wildcards = in_progress(b, dist_id)
                        ids = [i.id for i in b.invalidations.get(dist_id, []) if i.status == "InProgress"]
                        out[dist_id] = {"exact": exact, "wildcards": wildcards, "invalidations": ids}
            elif path == "/_cfstub/faults" and method == "POST":
                STATE["faults"].extend(body.get("faults", []))
                out = {"queued": len(STATE["faults"])}
            elif path == "/_cfstub/faults" and method == "DELETE":
                STATE["faults"].clear()
                out = {"queued": 0}
            elif path == "/_cfstub/log":
                out = {"calls": STATE["log"]}
            else:
                out = None
        return self.reply(start_response, out)

    @staticmethod
    def reply(start_response, out):
        data = json.dumps(out).encode()
        start_response("200 OK" if out is not None else "404 Not Found",
                       [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]


ENDPOINT = [""]


def backends():
    """The CloudFront backends (one per account and partition) that have had invalidations."""
    return list(BACKENDS)


def create_distribution(endpoint, comment, wanted_id=None, account=None):
    """A distribution in moto's default account, or in `account` (moto keeps one CloudFront per
    account and knows an assumed role's account from its credentials, as AWS does)."""
    import boto3
    if wanted_id:
        WANTED_IDS.append(wanted_id)
    creds = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
    if account:
        sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1", **creds)
        c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/cfstub", RoleSessionName="cfstub")["Credentials"]
        creds = {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
                 "aws_session_token": c["SessionToken"]}
    cf = boto3.client("cloudfront", endpoint_url=endpoint, region_name="us-east-1", **creds)
    ref = f"cfstub-{time.time_ns()}"
    d = cf.create_distribution(DistributionConfig={
        "CallerReference": ref, "Comment": comment, "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "s3", "DomainName": "www-example.s3.amazonaws.com",
                                              "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "allow-all",
                                 "MinTTL": 0, "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}}},
    })
    return d["Distribution"]["Id"]


def rfc3339_timestamps():
    """moto's Choice rules parse timestamps only as %Y-%m-%dT%H:%M:%SZ, while its own
    $$.State.EnteredTime carries microseconds and an offset, so every Timestamp comparison with it
    is false. AWS compares any RFC 3339 timestamp: parse them as AWS does."""
    import datetime
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations import is_operator

    def parse(string):
        try:
            t = datetime.datetime.fromisoformat(string.replace("Z", "+00:00"))
        except (TypeError, ValueError):
            return None
        return t if t.tzinfo else t.replace(tzinfo=datetime.timezone.utc)

    is_operator.IsTimestamp.string_to_timestamp = staticmethod(parse)


def task_credentials():
    """A task's `Credentials.RoleArn` makes AWS run its SDK call as that role; moto's interpreter
    evaluates the field and then signs with its own keys, in its default account. Assume the role
    through moto's STS instead (moto keeps one CloudFront per account, and knows an assumed role's
    account from its keys), only for tasks that name one."""
    import boto3
    from botocore.config import Config
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_aws_sdk as sdk

    orig_eval, orig_client = state_task.StateTask._eval_state_credentials, sdk.boto_client_for

    def eval_state_credentials(self, env):
        creds = orig_eval(self, env)
        creds.named = self.credentials is not None  # without the field: the execution's own role
        return creds

    def boto_client_for(region, service, state_credentials=None):
        if not getattr(state_credentials, "named", False):
            return with_tenant_operations(orig_client(region, service, state_credentials))
        sts = boto3.client("sts", endpoint_url=ENDPOINT[0], region_name=region, aws_access_key_id="ak",
                           aws_secret_access_key="sk")
        c = sts.assume_role(RoleArn=state_credentials.role_arn, RoleSessionName="sfn-task")["Credentials"]
        return with_tenant_operations(boto3.client(
            service, endpoint_url=ENDPOINT[0], region_name=region,
            aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
            aws_session_token=c["SessionToken"],
            config=Config(parameter_validation=False, retries={"max_attempts": 0, "total_max_attempts": 1})))

    state_task.StateTask._eval_state_credentials = eval_state_credentials
    sdk.boto_client_for = boto_client_for


class _TenantOperations:
    """A CloudFront client whose botocore predates distribution tenants (moto 5.2.5 runs with
    botocore 1.35), given GetInvalidationForDistributionTenant over the same wire path the SDKs
    use, with the modelled error classes (so that Step Functions names them
    `cloudfront.EntityNotFoundException`, `cloudfront.NoSuchInvalidationException`)."""

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        return getattr(self._client, name)

    def get_invalidation_for_distribution_tenant(self, DistributionTenantId, Id):
        import datetime
        import urllib.error
        import urllib.parse
        import xml.etree.ElementTree as ET
        from botocore.exceptions import ClientError
        url = (f"{ENDPOINT[0]}/2020-05-31/distribution-tenant/{urllib.parse.quote(DistributionTenantId, safe='')}"
               f"/invalidation/{urllib.parse.quote(Id, safe='')}")
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                root = ET.fromstring(r.read())
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            code = re.search(r"<Code>([^<]+)</Code>", text)
            code = code.group(1) if code else "CloudFrontException"
            message = re.search(r"<Message>([^<]*)</Message>", text)
            error = {"Error": {"Code": code, "Message": message.group(1) if message else ""},
                     "ResponseMetadata": {"HTTPStatusCode": e.code, "RequestId": "cfstub"}}
            raise type(code, (ClientError,), {})(error, "GetInvalidationForDistributionTenant") from None
        ns = {"cf": XMLNS}
        created = datetime.datetime.strptime(root.findtext("cf:CreateTime", "", ns), "%Y-%m-%dT%H:%M:%S.%fZ")
        return {"Invalidation": {
            "Id": root.findtext("cf:Id", "", ns),
            "Status": root.findtext("cf:Status", "", ns),
            "CreateTime": created.replace(tzinfo=datetime.timezone.utc),
            "InvalidationBatch": {
                "Paths": {"Quantity": int(root.findtext("cf:InvalidationBatch/cf:Paths/cf:Quantity", "0", ns)),
                          "Items": [p.text for p in root.findall("cf:InvalidationBatch/cf:Paths/cf:Items/cf:Path", ns)]},
                "CallerReference": root.findtext("cf:InvalidationBatch/cf:CallerReference", "", ns),
            },
        }}


def with_tenant_operations(client):
    if client.meta.service_model.service_name == "cloudfront" and not hasattr(
            client, "get_invalidation_for_distribution_tenant"):
        return _TenantOperations(client)
    return client


def forward_lambda_invokes(endpoint, forced_name=None):
    """moto's Lambda without Docker answers invokes from a canned queue; send them to the
    runtime emulator instead, so a Step Functions `lambda:invoke` task runs the real binary."""
    from moto.awslambda import models as lambda_models
    from moto.awslambda_simple import models as simple_models

    def invoke(self, function_name, qualifier, body, headers, response_headers):
        name = function_name.split(":")[-1] if function_name.startswith("arn:") else function_name
        with LOCK:
            STATE["log"].append({"op": "Invoke", "path": name, "t": time.time()})
        name = forced_name or name
        req = urllib.request.Request(f"{endpoint}/2015-03-31/functions/{name}/invocations",
                                     data=body if isinstance(body, bytes) else (body or "").encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                payload = r.read()
        except urllib.error.HTTPError as e:
            payload = e.read()
        try:
            doc = json.loads(payload)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and "errorType" in doc and set(doc) <= {"errorType", "errorMessage", "stackTrace"}:
            response_headers["x-amz-function-error"] = "Unhandled"
        return payload

    simple_models.LambdaSimpleBackend.invoke = invoke
    del lambda_models  # imported for its side effect of registering the backend


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--host", default="127.0.0.1",
                    help="address to bind (tests: 127.0.0.1; `sam local invoke` needs one its container reaches)")
    ap.add_argument("--distributions", type=int, default=1, help="distributions to create at start")
    ap.add_argument("--distribution-ids", default="", help="comma-separated ids for the first distributions")
    ap.add_argument("--tenants", default="",
                    help="comma-separated distribution tenants to create, dt_x=PARENT (default parent: the first distribution)")
    ap.add_argument("--complete-after", type=int, default=1,
                    help="GetInvalidation reads before Completed (0 at once, negative never)")
    ap.add_argument("--complete-after-seconds", type=float, default=None,
                    help="seconds after its creation an invalidation becomes Completed (default: only by reads)")
    ap.add_argument("--quota", action=argparse.BooleanOptionalAction, default=False,
                    help="keep CloudFront's in-progress quota (3,000 exact + 15 wildcard paths per distribution)")
    ap.add_argument("--lambda-endpoint", help="forward Lambda invokes here, e.g. http://127.0.0.1:9000")
    ap.add_argument("--lambda-function", help="function name at that endpoint (default: the invoked one; `_` for cargo lambda watch --only-lambda-apis)")
    ap.add_argument("--stepfunctions", action="store_true", help="let moto's Step Functions interpreter run executions")
    ap.add_argument("--serve-forever", action="store_true", help="ignore stdin; serve until killed (for scripts)")
    args = ap.parse_args()
    STATE["complete_after_reads"] = args.complete_after
    STATE["complete_after_seconds"] = args.complete_after_seconds
    STATE["quota"] = args.quota
    rfc3339_timestamps()
    task_credentials()
    if args.lambda_endpoint:
        forward_lambda_invokes(args.lambda_endpoint.rstrip("/"), args.lambda_function)

    import moto.moto_server.threaded_moto_server as tms
    real_make_server = tms.make_server
    tms.make_server = lambda host, port, app, *a, **kw: real_make_server(host, port, Control(app), *a, **kw)
    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    ENDPOINT[0] = f"http://{host}:{port}"
    # moto's Step Functions interpreter calls back into "the" moto server at MOTO_PORT.
    os.environ["MOTO_PORT"] = str(port)
    if args.stepfunctions or args.lambda_endpoint:
        config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
        urllib.request.urlopen(urllib.request.Request(f"{ENDPOINT[0]}/moto-api/config", data=json.dumps(config).encode(),
                                                      method="POST")).read()
    wanted = [d for d in args.distribution_ids.split(",") if d]
    count = max(args.distributions, len(wanted))
    dists = [create_distribution(ENDPOINT[0], f"test {i}", wanted[i] if i < len(wanted) else None) for i in range(count)]
    tenants = {}
    for spec in filter(None, args.tenants.split(",")):
        tenant, _, parent = spec.partition("=")
        create_tenant(tenant, parent or dists[0])
        tenants[tenant] = parent or dists[0]
    print(json.dumps({"endpoint": ENDPOINT[0], "port": port, "distributions": dists, "tenants": tenants}), flush=True)
    try:
        if args.serve_forever:
            threading.Event().wait()
        # Until the parent closes our stdin (it exited, even by a crash) or kills us.
        while sys.stdin.read(1):
            pass
    except KeyboardInterrupt:
        pass
    server.stop()


if __name__ == "__main__":
    main()
