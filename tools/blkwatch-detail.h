/* SPDX-License-Identifier: GPL-2.0-or-later */
/* blkwatch: what the device said (a record's transport detail). */
#ifndef BLKWATCH_DETAIL_H
#define BLKWATCH_DETAIL_H

#include <stdbool.h>
#include <stdio.h>
#include <blknotify/blknotify.h>

/*
 * JSON: the record's transport fields, raw and named (",\"transport\":...").
 * Text: a line "  device: MEDIUM ERROR 11/00 ...", when there is detail.
 * Nothing for a record shorter than BLOCK_NOTIFICATION_SIZE_V2.
 */
void detail_print(FILE *f, const struct block_notification *n, size_t len, bool json);

#endif
