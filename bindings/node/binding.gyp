# SPDX-License-Identifier: MIT
# The addon for node-gyp (npm install): built against the libshmbuf that pkg-config finds and
# the Node-API headers of the node given with --nodedir (no download needed).
{
  'targets': [{
    'target_name': 'shmbuf',
    'sources': ['src/binding.c', 'src/region.c'],
    'defines': ['NAPI_VERSION=7'],
    'cflags': ['<!@(pkg-config --cflags shmbuf)'],
    'libraries': ['<!@(pkg-config --libs shmbuf)'],
    'ldflags': ['-Wl,-rpath,<!@(pkg-config --variable=libdir shmbuf)'],
  }],
}
