"""
The core zope.interface declarations of txpbx.

Every extension point of the core is declared here and nowhere else. The
two a module author implements most often have no-op base classes at the end
of this file (L{Module}, L{ChannelDriver}); L{pbxcore.api} publishes them
with the other helpers an author needs.
"""

from zope.interface import Attribute, Interface, implementer


class IModuleDescriptor(Interface):
    """
    Cheap data describing a loadable module; lives in a ``twisted/plugins``
    drop-in file and is found with ``twisted.plugin.getPlugins``.
    """

    name = Attribute("Module name, Asterisk style: 'app_dial', 'chan_sip'.")
    implementation = Attribute(
        "Dotted name of a zero-argument callable (usually a class) returning "
        "the IModule; imported only when the module is selected."
    )
    description = Attribute("One line shown by 'module show'.")
    loadPriority = Attribute(
        "Asterisk's load priorities: CORE 40, CHANNEL_DEPEND 60, "
        "CHANNEL_DRIVER 70, APP_DEPEND 80, DEFAULT 128. Lower loads first."
    )
    requires = Attribute("Tuple of module names that must be loaded first.")
    optional = Attribute("Tuple of module names loaded first when present.")
    supportLevel = Attribute("'core', 'extended' or 'deprecated'.")
    validators = Attribute(
        "Optional: pairs (config file name, dotted name of a callable taking "
        "the parsed Config and raising ConfigError), run by 'twistd pbx' "
        "before anything starts."
    )
    pathValidators = Attribute(
        "Optional: pairs (config file name, dotted name of a callable taking "
        "the file's path and raising ConfigError) for a file the module reads "
        "with its own reader (extensions.conf, read as Asterisk reads it): "
        "'twistd pbx' checks the file with it instead of the strict parser."
    )


class IModule(Interface):
    """
    A loaded module. All three methods may return a Deferred.
    """

    def load(pbx, registrar):
        """
        Read configuration and register everything through C{registrar}.

        Raise L{pbxcore.errors.ModuleDeclined} to decline; the loader then
        rolls back every registration already made through the registrar.
        """

    def reload(pbx):
        """
        Re-read this module's configuration and swap it in atomically.

        Raise L{pbxcore.config.ConfigError} to keep the old configuration;
        the loader reports it with file:line.
        """

    def unload(pbx):
        """
        Release what the registrar does not know about. Registrations are
        undone by the loader afterwards, in reverse order.
        """


class IRegistry(Interface):
    """
    A name-keyed (case-insensitive) collection of extension objects that
    provide one interface.
    """

    kind = Attribute("The registry's kind, e.g. 'application'.")
    interface = Attribute("The interface every member must provide.")

    def add(obj):
        """
        Add C{obj} (verifyObject against C{interface}); a duplicate name
        raises L{pbxcore.errors.DuplicateRegistration}.
        """

    def remove(obj):
        """Remove C{obj}; removing an absent object is an error."""

    def get(name, default=None):
        """The member with this name (case-insensitive), or C{default}."""

    def __iter__():
        """Members in registration order."""

    def __len__():
        """Number of members."""

    def __contains__(name):
        """Whether a member has this name."""


class IRegistrar(Interface):
    """
    The per-module undo log: everything a module registers goes through it,
    and unload (or a declined load) undoes all of it in reverse order.
    """

    moduleName = Attribute("The name of the module this registrar serves.")
    useCount = Attribute("Live users of the module (channels, sessions).")

    def register(kind, obj):
        """Add C{obj} to the PBX registry C{kind}."""

    def provide(kind, registry):
        """Expose a new registry (IRegistry) of C{kind} to later modules."""

    def addService(service):
        """Run an IService while the module is loaded (started if running)."""

    def subscribe(callback, names=None, when=None):
        """
        Receive core events (L{pbxcore.events.Event}) while loaded: those
        called C{names} (all when None), while C{when()} is true. Naming the
        events lets the core skip building the ones nobody wants.
        """

    def addCleanup(f, *args, **kwargs):
        """Call C{f} on unload, in reverse order with the rest."""

    def ref():
        """Take a use (a live channel or session holds the module)."""

    def unref():
        """Release a use taken with L{ref}."""


class IPBX(Interface):
    """
    What modules see of the running PBX (L{pbxcore.service.PBXService}).
    """

    configDir = Attribute("The configuration directory (a str path).")
    dataDir = Attribute("Where the embedded store (SQLite) and spool live.")
    reactor = Attribute("The reactor every shell of this PBX uses.")

    def registry(kind):
        """The IRegistry of C{kind}; KeyError if no module provides it."""

    def emitEvent(name, fields, category):
        """
        Publish a core event: C{fields} is a sequence of (key, value) pairs or
        a dict, C{category} a manager class ('call', 'system', 'dialplan',
        'security', 'user', 'cdr', 'dtmf', 'reporting', 'agent', 'log').
        """

    def requestChannel(tech, dest, formats=None, requestor=None):
        """
        A new outgoing Channel from technology C{tech}, or raise
        L{pbxcore.errors.ChannelUnavailable} with a HangupCause.
        """

    def runDialplan(channel):
        """
        Start the PBX on C{channel} (pbx_start): returns a Deferred firing
        with a PBXResult (SUCCESS, FAILED, CALL_LIMIT) once it has started.
        """


class IChannelTechnology(Interface):
    """
    A channel technology ("SIP", "Local"), registered as kind 'technology'.
    """

    name = Attribute("Technology name, as in Dial(NAME/...).")
    description = Attribute("One line for 'core show channeltypes'.")
    capabilities = Attribute("Tuple of media format names it can carry.")

    def request(pbx, dest, formats, requestor):
        """
        Create and return a new outgoing L{pbxcore.channel.Channel} (state
        Down) for C{dest}, or raise ChannelUnavailable(cause).
        """

    def deviceState(resource):
        """The DeviceState of C{resource} (e.g. a peer name)."""


class IChannelDriver(Interface):
    """
    The per-channel half a technology hands the core; the core calls it to
    act on the far end. Methods may return Deferreds.
    """

    def call(channel, dest, timeout):
        """Start calling the far end (send the INVITE, ring the Local peer)."""

    def answer(channel):
        """Answer an incoming call."""

    def hangup(channel, cause):
        """Tear down the far end with a HangupCause."""

    def writeFrame(channel, frame):
        """Send a media or text frame to the far end."""

    def indicate(channel, control, data=None):
        """Signal a Control (ringing, busy, progress, hold ...) to the far end."""

    def sendDigitBegin(channel, digit):
        """Start sending a DTMF digit."""

    def sendDigitEnd(channel, digit, durationMs):
        """Finish sending a DTMF digit."""

    def sendText(channel, text):
        """Send a text message in the call."""

    def transfer(channel, dest):
        """Ask the far end to go to C{dest} (REFER)."""


class IApplication(Interface):
    """A dialplan application, registered as kind 'application'."""

    name = Attribute("Application name, Asterisk spelling: 'Dial', 'Answer'.")
    synopsis = Attribute("One line for 'core show applications'.")
    description = Attribute("Longer help for 'core show application NAME'.")

    def execute(channel, data):
        """
        Run on C{channel} with the raw argument string C{data} (variables
        already substituted). May be a coroutine function or return a
        Deferred; it must never block. Raising
        L{pbxcore.errors.ApplicationHangup} ends the dialplan.
        """


class IDialplanFunction(Interface):
    """A dialplan function ${NAME(args)}, registered as kind 'function'."""

    name = Attribute("Function name: 'CALLERID', 'LEN'.")
    synopsis = Attribute("One line for 'core show functions'.")

    def read(channel, args):
        """Return the string value of NAME(args); C{channel} may be None."""

    def write(channel, args, value):
        """Set NAME(args)=value; raise L{pbxcore.errors.ReadOnlyFunction} if not writable."""


class IManagerAction(Interface):
    """A manager (AMI) action, registered as kind 'manageraction'."""

    name = Attribute("Action name, Asterisk spelling: 'Originate'.")
    privileges = Attribute("Tuple of write classes needed: ('call',).")
    synopsis = Attribute("One line for ListCommands.")

    def call(session, request):
        """
        Handle C{request} (a L{pbxcore.manager.framing.Message}) for
        C{session} (IManagerSession). Return a response (see
        L{pbxcore.manager.actions}) or a Deferred of one; raise
        L{pbxcore.errors.ManagerError} for 'Response: Error'.
        """


class IManagerSession(Interface):
    """One logged-in manager connection, as actions see it."""

    pbx = Attribute("The IPBX.")
    username = Attribute("The manager user, or None before Login.")
    readClasses = Attribute("Frozenset of event classes this session may read.")
    writeClasses = Attribute("Frozenset of action classes this session may write.")

    def sendEvent(name, fields, actionID=None):
        """Send one event to this session only (list actions use it)."""


class ICLICommand(Interface):
    """A console command ('sip show peers'), registered as kind 'clicommand'."""

    name = Attribute("The command's words joined by single spaces.")
    summary = Attribute("One line for 'help'.")
    usage = Attribute("Usage text shown on wrong arguments.")

    def execute(pbx, args):
        """
        Run with the words after the command's own; return the output text
        (or a Deferred of it). Raise L{pbxcore.errors.CLIUsageError} for
        wrong arguments.
        """


class IHTTPURI(Interface):
    """
    A resource mounted on the HTTP server (http.conf), registered as kind
    'http.uri': C{registrar.register("http.uri", HTTPURI("ari", resource))}.
    Unloading the module unmounts it.
    """

    name = Attribute("The mount path without slashes at either end ('ari', 'ws').")
    path = Attribute("Same as name: one or more path segments joined by '/'.")
    resource = Attribute("The twisted.web IResource serving /<prefix>/<path>/...")
    description = Attribute("One line for 'http show status'.")


class IMetric(Interface):
    """
    Metrics a module publishes on /metrics (res_prometheus), registered as
    kind 'metric': C{registrar.register("metric", MetricCounter(...))}.
    Read at scrape time only; unloading the module withdraws them.
    """

    name = Attribute("The metric family's name (unique in the PBX).")

    def collect():
        """Zero or more prometheus_client metric families, read now."""


# -- no-op bases for module authors ---------------------------------------------------


@implementer(IModule)
class Module:
    """
    A module that registers nothing and has nothing to reload or release:
    subclass it and override L{load} (and L{reload} or L{unload} when the
    module reads configuration or holds something the registrar does not
    know about). Registrations made through the registrar are undone by the
    loader on unload.
    """

    def load(self, pbx, registrar):
        pass

    def reload(self, pbx):
        pass

    def unload(self, pbx):
        pass


@implementer(IChannelDriver)
class ChannelDriver:
    """
    A channel driver that does nothing at the far end: subclass it and
    override what the technology can do (a driver that cannot place calls
    keeps the no-op L{call}; one that cannot transfer keeps L{transfer}).
    """

    def call(self, channel, dest, timeout):
        pass

    def answer(self, channel):
        pass

    def hangup(self, channel, cause):
        pass

    def writeFrame(self, channel, frame):
        pass

    def indicate(self, channel, control, data=None):
        pass

    def sendDigitBegin(self, channel, digit):
        pass

    def sendDigitEnd(self, channel, digit, durationMs):
        pass

    def sendText(self, channel, text):
        pass

    def transfer(self, channel, dest):
        pass
