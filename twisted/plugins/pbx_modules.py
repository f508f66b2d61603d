"""
Descriptors of the modules bundled with txpbx. Cheap data only: every
implementation is imported when (and only when) its module is selected.
Third-party distributions ship a drop-in file like this one of their own.
"""

from pbxcore.loader import (
    APP_DEPEND,
    CHANNEL_DEPEND,
    CHANNEL_DRIVER,
    CORE,
    DEFAULT,
    ModuleDescriptor as M,
)

pbx_config = M("pbx_config", "plugins.pbx_config.PBXConfigModule",
               "Text extension configuration (extensions.conf)", CORE,
               pathValidators=(("extensions.conf", "pbxcore.dialplan.parser.readDialplan"),))
manager = M("manager", "pbxcore.manager.module.ManagerModule",
            "Asterisk Manager Interface (manager.conf)", CORE,
            validators=(("manager.conf", "pbxcore.manager.config.fromConfig"),))
chan_local = M("chan_local", "plugins.chan_local.LocalChannelModule",
               "Local proxy channel driver", CHANNEL_DRIVER)
chan_sip = M("chan_sip", "channels.sip.module.ChanSIPModule",
             "Session Initiation Protocol (SIP) channel driver", CHANNEL_DRIVER,
             validators=(("sip.conf", "channels.sip.driver.peers.parseSIPConf"),))
res_sdp_rtp = M("res_sdp_rtp", "plugins.res_sdp_rtp.SDPRTPModule",
                "SIP audio SDP handler (RTP/AVP offer/answer)", CHANNEL_DRIVER + 1,
                requires=("chan_sip",))
cdr_pgsql = M("cdr_pgsql", "plugins.cdr_pgsql.CdrPgsqlModule",
              "CDRs in PostgreSQL (cdr_pgsql.conf, or extconfig.conf cdr => pgsql)", DEFAULT)
res_prometheus = M("res_prometheus", "plugins.res_prometheus.PrometheusModule",
                   "Prometheus metrics at /metrics of the HTTP server (prometheus.conf)", DEFAULT,
                   validators=(("prometheus.conf", "plugins.res_prometheus.fromConfig"),))
res_webphone = M("res_webphone", "plugins.res_webphone.WebPhoneModule",
                 "The web phone at /phone/ (WebRTC over the SIP WebSocket)", DEFAULT)
app_message = M("app_message", "plugins.app_message.AppMessageModule",
                 "Out-of-call text messages (MessageSend, MESSAGE())", DEFAULT)
app_dial = M("app_dial", "plugins.app_dial.AppDialModule",
             "Dialing application", DEFAULT)
app_echo = M("app_echo", "plugins.app_echo.AppEchoModule",
             "Simple echo application", DEFAULT)
app_stack = M("app_stack", "plugins.app_stack.AppStackModule",
              "Dialplan subroutines (Gosub, Return, LOCAL)", APP_DEPEND)
app_while = M("app_while", "plugins.app_while.AppWhileModule",
              "While loops and conditional execution", DEFAULT)
app_verbose = M("app_verbose", "plugins.app_verbose.AppVerboseModule",
                "Send verbose output (Verbose, Log)", DEFAULT)
app_exec = M("app_exec", "plugins.app_exec.AppExecModule",
             "Executes dialplan applications (ExecIf)", DEFAULT)
app_userevent = M("app_userevent", "plugins.app_userevent.AppUserEventModule",
                  "Custom user event application", DEFAULT)
app_playback = M("app_playback", "plugins.app_playback.AppPlaybackModule",
                 "Sound file playback application", DEFAULT)
app_read = M("app_read", "plugins.app_read.AppReadModule",
             "Read variable application", DEFAULT)
func_strings = M("func_strings", "plugins.func_strings.FuncStringsModule",
                 "String handling dialplan functions", DEFAULT)
func_logic = M("func_logic", "plugins.func_logic.FuncLogicModule",
               "Logical dialplan functions", DEFAULT)
func_rand = M("func_rand", "plugins.func_rand.FuncRandModule",
              "Random number dialplan function", DEFAULT)
func_math = M("func_math", "plugins.func_math.FuncMathModule",
              "Mathematical dialplan functions", DEFAULT)
func_global = M("func_global", "plugins.func_global.FuncGlobalModule",
                "Variable dialplan functions (GLOBAL)", DEFAULT)
func_callerid = M("func_callerid", "plugins.func_callerid.FuncCallerIDModule",
                  "Party ID related dialplan functions (CALLERID, CONNECTEDLINE)", DEFAULT)
func_channel = M("func_channel", "plugins.func_channel.FuncChannelModule",
                 "Channel information dialplan functions", DEFAULT)
func_hangupcause = M("func_hangupcause", "plugins.func_hangupcause.FuncHangupCauseModule",
                     "HANGUPCAUSE related functions", DEFAULT)
func_db = M("func_db", "plugins.func_db.FuncDBModule",
            "Database (astdb) related dialplan functions", DEFAULT)
func_devstate = M("func_devstate", "plugins.func_devstate.FuncDevstateModule",
                  "Gets or sets a device state in the dialplan", DEFAULT)
func_presencestate = M("func_presencestate",
                        "plugins.func_presencestate.FuncPresencestateModule",
                        "Gets or sets a presence state in the dialplan", DEFAULT)
func_cdr = M("func_cdr", "plugins.func_cdr.FuncCDRModule",
             "Call Detail Record related dialplan functions (CDR)", DEFAULT)
app_voicemail = M("app_voicemail", "plugins.app_voicemail.AppVoicemailModule",
                  "Comedian Mail (Voicemail System)", DEFAULT,
                  validators=(("voicemail.conf", "pbxcore.store.voicemail.parseVoicemailConf"),))
app_milliwatt = M("app_milliwatt", "plugins.app_milliwatt.AppMilliwattModule",
                  "Digital Milliwatt (mu-law) Test Application", DEFAULT)
app_record = M("app_record", "plugins.app_record.AppRecordModule",
               "Trivial Record Application", DEFAULT)
res_parking = M("res_parking", "plugins.res_parking.ParkingModule",
                "Call parking resource (res_parking.conf)", DEFAULT,
                optional=("res_musiconhold", "app_dial"),
                validators=(("res_parking.conf", "plugins.res_parking_config.parseResParking"),))
app_directed_pickup = M("app_directed_pickup", "plugins.app_directed_pickup.DirectedPickupModule",
                        "Directed Call Pickup Application", DEFAULT)
app_mixmonitor = M("app_mixmonitor", "plugins.app_mixmonitor.MixMonitorModule",
                   "Mixed Audio Monitoring Application", DEFAULT)
app_confbridge = M("app_confbridge", "plugins.app_confbridge.ConfBridgeModule",
                   "Conference Bridge Application (confbridge.conf)", DEFAULT,
                   validators=(("confbridge.conf", "plugins.app_confbridge_config.parseConfBridge"),))
app_queue = M("app_queue", "plugins.app_queue.QueueModule",
              "True Call Queueing (queues.conf)", DEFAULT,
              optional=("res_musiconhold", "app_dial"),
              validators=(("queues.conf", "plugins.app_queue_config.parseQueues"),))
res_musiconhold = M("res_musiconhold", "plugins.res_musiconhold.MusicOnHoldModule",
                    "Music On Hold Resource", CHANNEL_DEPEND)
res_sip_subscriptions = M("res_sip_subscriptions",
                          "channels.sip.driver.subscriptions.SIPSubscriptionsModule",
                          "SIP subscriptions: BLF, presence and MWI (SUBSCRIBE/NOTIFY)",
                          CHANNEL_DRIVER + 2, requires=("chan_sip",),
                          optional=("res_sdp_rtp",))
res_sip_diversion = M("res_sip_diversion", "plugins.res_sip_diversion.SIPDiversionModule",
                      "SIP Diversion / History-Info and redirecting information",
                      CHANNEL_DRIVER + 3, requires=("chan_sip",))
res_sip_pai = M("res_sip_pai", "plugins.res_sip_pai.SIPPAIModule",
                "SIP P-Asserted-Identity / Remote-Party-ID and privacy",
                CHANNEL_DRIVER + 3, requires=("chan_sip",))
res_sip_header = M("res_sip_header", "plugins.res_sip_header.SIPHeaderModule",
                   "SIP_HEADER, SIP_ADDHEADER and SIPAddHeader", CHANNEL_DRIVER + 3,
                   requires=("chan_sip",))
res_sip_session_timers = M("res_sip_session_timers",
                           "plugins.res_sip_session_timers.SessionTimersModule",
                           "SIP session timers (RFC 4028)", CHANNEL_DRIVER + 3,
                           requires=("chan_sip",))
res_ari = M("res_ari", "plugins.res_ari.AriModule",
            "Asterisk RESTful Interface (ari.conf, /ari on the HTTP server)", APP_DEPEND,
            validators=(("ari.conf", "plugins.res_ari_config.fromConfig"),))
app_stasis = M("app_stasis", "plugins.app_stasis.AppStasisModule",
               "Stasis dialplan application", DEFAULT, requires=("res_ari",))
