/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place that holds dmp's version. The module (MODULE_VERSION and the
 * device-mapper target version), dkms.conf, debian/changelog and dmp.spec
 * follow it; scripts/version-check.sh (make version-check) fails when they
 * disagree.
 */
#ifndef DMP_VERSION_H
#define DMP_VERSION_H

#define DMP_VERSION_MAJOR 1
#define DMP_VERSION_MINOR 0
#define DMP_VERSION_PATCH 0
#define DMP_VERSION "1.0.0"

#endif
