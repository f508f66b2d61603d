"""
The drop-in of the txpbx-example distribution: cheap data only. The loader
imports C{txpbx_example.module} when (and only when) res_example is selected.
"""

from pbxcore.loader import APP_DEPEND, ModuleDescriptor

res_example = ModuleDescriptor(
    name="res_example",
    implementation="txpbx_example.module.ExampleModule",
    description="Example SIP supplement, T.38 handler and application",
    loadPriority=APP_DEPEND,
    requires=("chan_sip",),
    supportLevel="extended",
    validators=(("example.conf", "txpbx_example.config.parseExampleConf"),),
)
