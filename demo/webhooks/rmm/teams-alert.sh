#!/bin/sh
# Post an RMM alert to the "IT alerts" channel through the Teams Workflows app
# ("Post to a channel when a webhook request is received").
# Usage: teams-alert.sh "<title>" "<text>"
# DEMO FILE: the workflow id and sig are fake.
set -eu

WEBHOOK_URL="https://prod-12.westeurope.logic.azure.com:443/workflows/deadbeefdeadbeefdeadbeefdeadbeef/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=DEMO-ONLY-not-a-real-sig-0000000000000000000"

title=${1:-"RMM alert"}
text=${2:-"(no details)"}

curl -fsS -X POST -H 'Content-Type: application/json' "$WEBHOOK_URL" -d @- <<JSON
{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":{
 "type":"AdaptiveCard","version":"1.4","body":[
  {"type":"TextBlock","weight":"Bolder","text":"$title"},
  {"type":"TextBlock","wrap":true,"text":"$text"}]}}]}
JSON
