# Conan 2 recipe: `conan create .` builds and packages the static libraries only (no tests,
# examples, benchmarks or fuzzers) and builds test_package/ against them. Dependency versions
# match Debian 12, where the project is developed and tested; other versions are untested.
#
# Conan does not run on the project's machines, so CI checks the recipe another way
# (test/package): test_package/ is built with plain CMake against a `cmake --install` prefix,
# and check_conan_requires.cmake compares `requires` and `_components` below with the
# find_package() calls of CMakeLists.txt and the link interface CMake exports.
import os

from conan import ConanFile
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.files import copy, rm, rmdir


class StreamqConan(ConanFile):
    name = "streamq"
    version = "0.1.0"
    description = "Redis Streams task queue on Boost.Asio C++20 coroutines"
    license = "BSL-1.0"
    topics = ("redis", "redis-streams", "task-queue", "asio", "coroutines", "protobuf")
    package_type = "static-library"
    settings = "os", "compiler", "build_type", "arch"
    options = {"fPIC": [True, False]}
    # date reads the system's tzdb, as Debian's build does, rather than downloading one.
    # streamq uses Boost's header-only libraries (Asio, System) only.
    default_options = {"fPIC": True, "date/*:use_system_tz_db": True, "boost/*:header_only": True,
                       "prometheus-cpp/*:with_pull": False, "prometheus-cpp/*:with_push": False}
    exports_sources = ("CMakeLists.txt", "LICENSE", "cmake/*", "include/*", "lib/*", "proto/*",
                       "tools/*")

    # One entry per CMake target (lib/CMakeLists.txt) and what it links: a layer of its own
    # ("resp") or a dependency's component ("boost::headers" is CMake's Boost::headers).
    _components = {
        "resp": [],
        "redis": ["resp", "boost::headers", "openssl::ssl", "openssl::crypto"],
        "streams": ["redis", "protobuf::libprotobuf", "openssl::crypto", "date::date-tz"],
        # The integrations (find_package(streamq COMPONENTS ...)); Conan Center names
        # prometheus-cpp's core library component "prometheus-cpp-core".
        "http": ["streams", "boost::headers"],
        "metrics": ["streams", "http", "prometheus-cpp::prometheus-cpp-core"],
        "spdlog": ["streams", "spdlog::spdlog"],
    }

    def config_options(self):
        if self.settings.os == "Windows":
            del self.options.fPIC

    def layout(self):
        cmake_layout(self)

    def requirements(self):
        # Public headers include Boost.Asio, OpenSSL's SSL streams and protobuf-generated code.
        self.requires("boost/1.81.0", transitive_headers=True)
        self.requires("openssl/[>=3.0 <4]", transitive_headers=True)
        self.requires("protobuf/3.21.12", transitive_headers=True, transitive_libs=True)
        self.requires("date/3.0.1")  # time zones for schedules
        # The integrations: metrics on prometheus-cpp's core registry (no pull/push: streamq
        # serves /metrics itself), and the logger hook's spdlog adapter. Debian 12's versions.
        self.requires("prometheus-cpp/1.0.1", transitive_headers=True)
        self.requires("spdlog/1.10.0", transitive_headers=True)
        # The streamq command (tools/cli) parses its command line with CLI11 (header-only).
        self.requires("cli11/2.1.2", visible=False)

    def build_requirements(self):
        self.tool_requires("protobuf/3.21.12")  # protoc, run at build time: the same version

    def generate(self):
        tc = CMakeToolchain(self)
        for part in ("TESTS", "EXAMPLES", "BENCHMARKS", "FUZZERS"):
            tc.cache_variables[f"STREAMQ_BUILD_{part}"] = False
        tc.generate()
        CMakeDeps(self).generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def package(self):
        copy(self, "LICENSE", self.source_folder, os.path.join(self.package_folder, "licenses"))
        CMake(self).install()
        # Conan generates its own CMake and pkg-config files; the protobuf helper stays (below).
        cmakedir = os.path.join(self.package_folder, "lib", "cmake", "streamq")
        rm(self, "streamqConfig*.cmake", cmakedir)
        rm(self, "streamqTargets*.cmake", cmakedir)
        rm(self, "streamq_*Targets*.cmake", cmakedir)
        rmdir(self, os.path.join(self.package_folder, "lib", "pkgconfig"))

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "streamq")
        self.cpp_info.set_property("cmake_target_name", "streamq::streamq")
        self.cpp_info.set_property("pkg_config_name", "streamq")
        # streamq_protobuf_generate(), for an application's own .proto files.
        helper = os.path.join("lib", "cmake", "streamq", "StreamqProtobuf.cmake")
        self.cpp_info.set_property("cmake_build_modules", [helper])
        postfix = "d" if self.settings.build_type == "Debug" else ""
        for layer, requires in self._components.items():
            component = self.cpp_info.components[layer]
            component.set_property("cmake_target_name", f"streamq::{layer}")
            component.libs = [f"streamq_{layer}{postfix}"]
            component.requires = list(requires)
            if self.settings.os in ("Linux", "FreeBSD") and layer != "resp":
                component.system_libs = ["pthread"]
