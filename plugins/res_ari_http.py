"""
ARI over HTTP: the C{twisted.web} resources mounted at C{/ari} (REST
operations routed by L{plugins.res_ari_spec}, the Swagger documents) and
the events WebSocket at C{/ari/events}, with ari.conf's users (HTTP basic
authentication or C{api_key=user:pass}) and C{allowed_origins}.

A WebSocket session never blocks the others: events are written without
waiting, and while the client's connection is backed up (the transport
pauses its producer) they queue in the session; when it stays backed up
longer than ari.conf's C{websocket_write_timeout} (or the queue passes a
bound) that session alone is dropped, as Asterisk does.
"""

import base64
import collections
import inspect
import json

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import resource, server
from twisted.web.websocket import WebSocketResource
from zope.interface import implementer
from twisted.internet.interfaces import IPushProducer

from plugins import res_ari_spec as spec
from plugins.res_ari_channels import AriError
from plugins.res_ari_resources import RawBody
from plugins.res_ari_schema import MODELS

log = Logger(namespace="plugins.res_ari")

#: Events a paused session may hold before it is closed as too slow.
MAX_QUEUED_EVENTS = 10000
_CREATED = {("channels", "play"), ("channels", "playWithId"), ("channels", "record"),
            ("bridges", "play"), ("bridges", "playWithId"), ("bridges", "record")}


def authenticate(settings, request):
    """The ari.conf user of the request, or None."""
    header = request.getHeader("authorization")
    credentials = None
    if header and header.lower().startswith("basic "):
        try:
            credentials = base64.b64decode(header[6:].strip()).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
    else:
        key = request.args.get(b"api_key")
        if key:
            credentials = key[0].decode("utf-8", "replace")
    if not credentials or ":" not in credentials:
        return None
    name, _, password = credentials.partition(":")
    user = settings.user(name)
    if user is None or not user.checkPassword(password):
        return None
    return user


def writeJSON(request, code, body, pretty=False):
    request.setResponseCode(code)
    if body is None:
        return b""
    request.setHeader(b"content-type", b"application/json")
    return (json.dumps(body, indent=2 if pretty else None) + "\n").encode("utf-8")


def cors(settings, request):
    origin = request.getHeader("origin")
    if origin and settings.originAllowed(origin):
        request.setHeader(b"access-control-allow-origin", origin.encode("utf-8"))
        request.setHeader(b"access-control-allow-credentials", b"true")


def refuse(module, request):
    """401 answers for requests without a known user; None when allowed."""
    if authenticate(module.settings, request) is not None:
        return None
    request.setHeader(b"www-authenticate", b'Basic realm="Asterisk REST Interface"')
    return writeJSON(request, 401, {"message": "Authentication required"})


class AriRoot(resource.Resource):
    """C{/ari}: the events WebSocket and every REST path."""

    def __init__(self, module):
        super().__init__()
        self.module = module
        self.rest = AriREST(module)
        self.events = AriEvents(module)

    def getChild(self, name, request):
        if name == b"events" and not [p for p in request.postpath if p]:
            return self.events
        return self.rest

    def render(self, request):
        return writeJSON(request, 404, {"message": "Resource not found"})


class AriREST(resource.Resource):
    isLeaf = True

    def __init__(self, module):
        super().__init__()
        self.module = module

    def render(self, request):
        module = self.module
        settings = module.settings
        cors(settings, request)
        method = request.method.decode("ascii", "replace").upper()
        segments = [request.prepath[-1]] + list(request.postpath)
        path = "/" + "/".join(s.decode("utf-8", "replace") for s in segments)
        if method == "OPTIONS":
            return self._options(request, path)
        denied = refuse(module, request)
        if denied is not None:
            return denied
        user = authenticate(settings, request)
        if user.readOnly and method not in ("GET", "HEAD"):
            return writeJSON(request, 403, {"message": "Write access denied"})
        if path.startswith("/api-docs/"):
            return self._docs(request, path[len("/api-docs/"):])
        op, found = spec.match(method, path.rstrip("/") or "/")
        if op is None:
            if found:
                return writeJSON(request, 405, {"message": "Invalid method"})
            return writeJSON(request, 404, {"message": "Resource not found"})
        try:
            params = spec.parameters(op, self._query(request), self._body(request))
        except AriError as e:
            return writeJSON(request, e.code, {"message": e.message})
        except spec.ParamError as e:
            return writeJSON(request, 400, {"message": str(e)})
        return self._call(request, op, params, found)

    def _options(self, request, path):
        methods = sorted({op.method for op in spec.OPERATIONS if op.regex.match(path)})
        if not methods:
            return writeJSON(request, 404, {"message": "Resource not found"})
        allow = ",".join(methods + ["OPTIONS"]).encode()
        request.setHeader(b"allow", allow)
        request.setHeader(b"access-control-allow-methods", allow)
        request.setHeader(b"access-control-allow-headers", b"Content-Type, Authorization")
        return writeJSON(request, 204, None)

    @staticmethod
    def _query(request):
        return {k.decode("utf-8", "replace"): ",".join(v.decode("utf-8", "replace")
                                                       for v in values)
                for k, values in request.args.items() if k != b"api_key"}

    @staticmethod
    def _body(request):
        ctype = (request.getHeader("content-type") or "").lower()
        if "json" not in ctype:
            return None
        data = request.content.read() if request.content is not None else b""
        if not data.strip():
            return None
        try:
            body = json.loads(data)
        except ValueError:
            raise AriError(400, "Error parsing request body") from None
        if not isinstance(body, dict):
            raise AriError(400, "Request body must be a JSON object")
        return body

    def _docs(self, request, name):
        host = request.getHeader("host") or "localhost"
        scheme = "https" if request.isSecure() else "http"
        base = f"{scheme}://{host}/" + "/".join(
            p.decode("utf-8", "replace") for p in request.prepath[:-1])
        pretty = self.module.settings.pretty
        if name == "resources.json":
            return writeJSON(request, 200, spec.resourceListing(base), pretty)
        declaration = spec.apiDeclaration(name[:-5], base, MODELS) \
            if name.endswith(".json") else None
        if declaration is None:
            return writeJSON(request, 404, {"message": "Resource not found"})
        return writeJSON(request, 200, declaration, pretty)

    def _call(self, request, op, params, pathParams):
        handler = self.module.handler(op)
        try:
            result = handler(params, pathParams)
        except AriError as e:
            return writeJSON(request, e.code, {"message": e.message})
        except Exception:
            log.failure("ARI {method} {path}", method=op.method, path=op.path)
            return writeJSON(request, 500, {"message": "Internal Server Error"})
        if not inspect.isawaitable(result):
            return self._answer(request, op, result)
        d = defer.ensureDeferred(result)
        d.addCallback(lambda r: self._answer(request, op, r))
        d.addErrback(lambda f: self._failed(request, op, f))
        d.addCallback(lambda body: self._finish(request, body))
        return server.NOT_DONE_YET

    def _answer(self, request, op, result):
        if isinstance(result, RawBody):
            request.setHeader(b"content-type", result.contentType.encode())
            return result.data
        if result is None:
            return writeJSON(request, 204, None)
        code = 201 if (op.resource, op.nickname) in _CREATED else 200
        return writeJSON(request, code, result, self.module.settings.pretty)

    def _failed(self, request, op, failure):
        if failure.check(AriError):
            return writeJSON(request, failure.value.code, {"message": failure.value.message})
        log.failure("ARI {method} {path}", failure, method=op.method, path=op.path)
        return writeJSON(request, 500, {"message": "Internal Server Error"})

    @staticmethod
    def _finish(request, body):
        if request.finished or request._disconnected:
            return
        if body:
            request.write(body)
        request.finish()


class AriEvents(resource.Resource):
    """C{/ari/events?app=NAME[,NAME][&subscribeAll=true]}: the WebSocket."""

    isLeaf = True

    def __init__(self, module):
        super().__init__()
        self.module = module
        self.ws = WebSocketResource(SessionFactory(module))

    def render(self, request):
        module = self.module
        cors(module.settings, request)
        denied = refuse(module, request)
        if denied is not None:
            return denied
        apps = [a for v in request.args.get(b"app", []) for a in
                v.decode("utf-8", "replace").split(",") if a]
        if not apps:
            return writeJSON(request, 400, {"message": "Missing parameter app"})
        if request.method != b"GET":
            return writeJSON(request, 405, {"message": "Invalid method"})
        if not request.getHeader("upgrade"):
            return writeJSON(request, 400, {"message": "WebSocket upgrade required"})
        return self.ws.render(request)


class SessionFactory:
    def __init__(self, module):
        self.module = module

    def buildProtocol(self, request):
        apps = [a for v in request.args.get(b"app", []) for a in
                v.decode("utf-8", "replace").split(",") if a]
        subscribeAll = (request.args.get(b"subscribeAll") or [b""])[0].lower() in (
            b"true", b"yes", b"1")
        channel = request.channel
        channel.setTimeout(None)  # http.conf's session_inactivity is not for WebSockets
        return EventSession(self.module.core, apps, subscribeAll, channel.transport,
                            self.module.settings.writeTimeout)


@implementer(IPushProducer)
class EventSession:
    """One events WebSocket (see the module docstring)."""

    def __init__(self, core, apps, subscribeAll, tcp, writeTimeout=0.1):
        self.core = core
        self.writeTimeout = writeTimeout
        self._stalled = None
        self.apps = set(apps)
        self.subscribeAll = subscribeAll
        self.tcp = tcp
        self.transport = None
        self.paused = False
        self.queue = collections.deque()
        self.closed = False
        self.sent = 0

    def negotiationStarted(self, transport):
        self.transport = transport

    def negotiationFinished(self):
        try:
            self.tcp.unregisterProducer()
        except Exception:
            pass
        self.tcp.registerProducer(self, True)
        for name in self.apps:
            self.core.attach(name, self, self.subscribeAll)

    def sendEvent(self, message):
        if self.closed or self.transport is None:
            return
        text = json.dumps(message)
        if self.paused or self.queue:
            self.queue.append(text)
            if len(self.queue) > MAX_QUEUED_EVENTS:
                self._unstall()
                self._tooSlow(confirmed=True)
            return
        self.sent += 1
        self.transport.sendTextMessage(text)

    def pauseProducing(self):
        self.paused = True
        if self._stalled is None and not self.closed:
            self._stalled = self.core.reactor.callLater(self.writeTimeout, self._tooSlow)

    def _tooSlow(self, confirmed=False):
        """
        ari.conf's websocket_write_timeout passed: drop this session alone.
        The timer may fire after a long reactor turn before the transport
        had a chance to write; the check is repeated on the next turn, after
        the transport's I/O, and only a session still backed up is dropped.
        """
        self._stalled = None
        if self.closed or not self.paused:
            return
        if not confirmed:
            self._stalled = self.core.reactor.callLater(0, self._tooSlow, True)
            return
        log.warn("ARI: closing the events WebSocket of {apps}: the client does not read "
                 "({count} events waiting)", apps=",".join(sorted(self.apps)),
                 count=len(self.queue))
        self.closed = True
        self.queue.clear()
        self._detach()
        self.tcp.abortConnection()

    def _unstall(self):
        if self._stalled is not None and self._stalled.active():
            self._stalled.cancel()
        self._stalled = None

    def resumeProducing(self):
        self.paused = False
        self._unstall()
        while self.queue and not self.paused and not self.closed:
            self.sent += 1
            self.transport.sendTextMessage(self.queue.popleft())

    def stopProducing(self):
        self.closed = True

    def close(self, code=1000):
        if self.closed or self.transport is None:
            return
        self.closed = True
        self._unstall()
        self.queue.clear()
        self._detach()
        try:
            self.transport.loseConnection(code)
        except Exception:  # the close handshake already happened (wsproto CLOSED)
            self.tcp.loseConnection()

    def _detach(self):
        for name in self.apps:
            self.core.detach(name, self)

    def textMessageReceived(self, data):
        pass

    def bytesMessageReceived(self, data):
        pass

    def pongReceived(self, payload):
        pass

    def connectionLost(self, reason):
        self._unstall()
        self.closed = True
        self.queue.clear()
        self._detach()
