# Stands for a protobuf release other than the one streamq was built with (its version is in
# protobuf-config-version.cmake); streamqConfig.cmake must reject it before using anything of
# it, so it defines nothing.
