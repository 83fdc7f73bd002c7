# One image for every service; compose.yaml picks the service with `command:`.
#   docker build -t jousting-operator:local .
#   docker run --rm jousting-operator:local node services/settings/dist/main.js

FROM node:22-bookworm-slim AS build
WORKDIR /app
ENV TURBO_TELEMETRY_DISABLED=1 NPM_CONFIG_UPDATE_NOTIFIER=false
COPY . .
# Install everything, build every workspace, then drop the dev dependencies for the runtime stage.
RUN npm ci && npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production JOUSTING_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/libs ./libs
COPY --from=build /app/services ./services
# A named volume mounted on /data starts with this folder's owner, so the gateway can write its token.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
CMD ["node", "services/gateway/dist/main.js"]
