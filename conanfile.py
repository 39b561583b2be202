# Conan 2 recipe: `conan create .` builds and packages the static library only (no tests,
# examples, benchmarks or fuzzers). Dependency versions match Debian 12, where the project is
# developed and tested; other versions are untested.
from conan import ConanFile
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout


class StreamqConan(ConanFile):
    name = "streamq"
    version = "0.1.0"
    description = "Redis Streams task queue on Boost.Asio C++20 coroutines"
    # No license field yet: the project has not chosen one.
    settings = "os", "compiler", "build_type", "arch"
    options = {"fPIC": [True, False]}
    # date reads the system's tzdb, as Debian's build does, rather than downloading one.
    default_options = {"fPIC": True, "date/*:use_system_tz_db": True}
    exports_sources = "CMakeLists.txt", "cmake/*", "include/*", "lib/*", "proto/*"

    def config_options(self):
        if self.settings.os == "Windows":
            del self.options.fPIC

    def layout(self):
        cmake_layout(self)

    def requirements(self):
        self.requires("boost/1.81.0")
        self.requires("openssl/[>=3.0 <4]")
        self.requires("protobuf/3.21.12")
        self.requires("fmt/9.1.0")
        self.requires("date/3.0.1")  # time zones for schedules

    def build_requirements(self):
        self.tool_requires("protobuf/3.21.12")  # protoc, run at build time

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
        CMake(self).install()

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "streamq")
        self.cpp_info.set_property("cmake_target_name", "streamq::streamq")
        self.cpp_info.libs = ["streamq"]
        if self.settings.os in ("Linux", "FreeBSD"):
            self.cpp_info.system_libs = ["pthread"]
