#!/bin/sh
# Fills in deploy/mirrormaker/mm2.properties from the environment and runs MirrorMaker 2 for
# the home cluster only. C2C_HOME_ALIAS, C2C_PARTNER_ALIAS and C2C_PARTNER_BOOTSTRAP are
# required; C2C_HOME_BOOTSTRAP defaults to kafka:9092, C2C_REPLICATION_FACTOR to 3.
set -eu
: "${C2C_HOME_ALIAS:?set C2C_HOME_ALIAS, our cluster alias as the partner knows it}"
: "${C2C_PARTNER_ALIAS:?set C2C_PARTNER_ALIAS, the alias of the partner agreement}"
: "${C2C_PARTNER_BOOTSTRAP:?set C2C_PARTNER_BOOTSTRAP, the partner cluster address}"
sed -e "s|@HOME_ALIAS@|$C2C_HOME_ALIAS|g" \
    -e "s|@PARTNER_ALIAS@|$C2C_PARTNER_ALIAS|g" \
    -e "s|@HOME_BOOTSTRAP@|${C2C_HOME_BOOTSTRAP:-kafka:9092}|g" \
    -e "s|@PARTNER_BOOTSTRAP@|$C2C_PARTNER_BOOTSTRAP|g" \
    -e "s|@REPLICATION_FACTOR@|${C2C_REPLICATION_FACTOR:-3}|g" \
    /etc/mirrormaker/mm2.properties >/tmp/mm2.properties
if [ -f /etc/mirrormaker/security.properties ]; then
  cat /etc/mirrormaker/security.properties >>/tmp/mm2.properties
fi
exec /opt/kafka/bin/connect-mirror-maker.sh /tmp/mm2.properties --clusters "$C2C_HOME_ALIAS"
