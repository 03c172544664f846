#!/bin/bash
# PID 1 of a fresh pid/mount/uts/ipc/cgroup namespace (see with-private-systemd.sh): builds a root
# from an overlay of the host, installs Renkei into it, and execs a real systemd there.
set -euo pipefail
work=$1
ns=$work/ns
mkdir -p "$ns"
mount -t tmpfs tmpfs "$ns"
mkdir -p "$ns/upper" "$ns/overlay-work" "$ns/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$ns/upper,workdir=$ns/overlay-work" "$ns/root"
root=$ns/root
mount -t proc proc "$root/proc"
mount --bind /sys "$root/sys"
mount -o remount,bind,ro "$root/sys"
mount -t cgroup2 -o nsdelegate cgroup2 "$root/sys/fs/cgroup"
mount -t tmpfs -o mode=755 tmpfs "$root/dev"
for device in null zero full random urandom tty; do
  touch "$root/dev/$device"
  mount --bind "/dev/$device" "$root/dev/$device"
done
mkdir -p "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
touch "$work/console.log" "$root/dev/console"
mount --bind "$work/console.log" "$root/dev/console"
mount -t tmpfs tmpfs "$root/run"
mount -t tmpfs tmpfs "$root/tmp"
mkdir -p "$root/var/log/journal" "$work/journal"
mount --bind "$work/journal" "$root/var/log/journal"

# Renkei, installed as `make install` would (PREFIX=/usr/local), from the built binaries.
install -m 755 "$work/bin/renkeid" "$work/bin/renkeictl" "$root/usr/local/bin/"
mkdir -p "$root/etc/systemd/system" "$root/etc/sysusers.d" "$root/etc/tmpfiles.d" "$root/etc/renkei/jobs" "$root/usr/local/lib/systemd/catalog"
cp "$work/units/renkeid.service" "$work/units/renkei-report.service" "$work/units/renkei-report.timer" "$root/etc/systemd/system/"
cp "$work/units/renkei.sysusers" "$root/etc/sysusers.d/renkei.conf"
cp "$work/units/renkei.tmpfiles" "$root/etc/tmpfiles.d/renkei.conf"
cp "$work/units/renkei.catalog" "$root/usr/local/lib/systemd/catalog/"
cp "$work"/jobs/*.yaml "$root/etc/renkei/jobs/"
chmod 644 "$root"/etc/renkei/jobs/*.yaml

# Units that make no sense here are masked.
for unit in getty@.service serial-getty@.service console-getty.service systemd-timesyncd.service systemd-udevd.service \
    systemd-udevd-control.socket systemd-udevd-kernel.socket systemd-modules-load.service systemd-remount-fs.service \
    apt-daily.timer apt-daily-upgrade.timer fstrim.timer man-db.timer e2scrub_all.timer e2scrub_reap.service \
    postgresql.service redis-server.service nginx.service memcached.service docker.service containerd.service ssh.service cron.service \
    systemd-networkd.service systemd-resolved.service networking.service systemd-logind.service dbus.service dbus.socket; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
cat > "$root/etc/systemd/system/renkei-test.target" <<UNIT
[Unit]
Description=Renkei end-to-end test
Requires=basic.target
After=basic.target
UNIT
echo renkei-e2e > "$root/etc/hostname"

mkdir -p "$root/oldroot"
cd "$root"
pivot_root . oldroot
umount -l /oldroot
exec env -i container=renkei-e2e /lib/systemd/systemd --system --unit=renkei-test.target
