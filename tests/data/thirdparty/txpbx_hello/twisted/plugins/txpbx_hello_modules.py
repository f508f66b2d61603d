from pbxcore.loader import ModuleDescriptor

hello = ModuleDescriptor(
    name="app_hello",
    implementation="txpbx_hello.HelloModule",
    description="Hello application (third-party example)",
    loadPriority=128,
    supportLevel="extended",
)
