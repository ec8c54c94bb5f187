# The Higress plugin image: one layer holding the release build as /plugin.wasm,
# the file name Higress (Istio's Wasm image fetcher) looks for.
# Build it with `npm run image -- <ref>` (docker when a daemon answers, else buildah).
FROM scratch
COPY build/plugin.wasm plugin.wasm
