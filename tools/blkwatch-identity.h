/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * blkwatch --identity: the disk, partition and filesystem beside each
 * record, and the data that was hit on its own line after it.
 */
#ifndef BLKWATCH_IDENTITY_H
#define BLKWATCH_IDENTITY_H

#include <stdbool.h>
#include <stdio.h>
#include <blknotify/block_notify.h>

struct identity;

struct blknotify_queue;

/*
 * files: also look up the data on the failed sectors (an impact line per
 * record).  Identity is looked up here (it needs no privilege); the files,
 * when q's source is the daemon, are asked of blknotifyd (which names them
 * with its privileges if its policy allows), else looked up here.
 */
int identity_new(struct identity **ret, bool files, struct blknotify_queue *q);
struct identity *identity_free(struct identity *id);

/* JSON: ,"serial":...,"mount":... inside the record's object; text: an indented line. */
void identity_print(struct identity *id, FILE *f, const struct block_notification *n, bool json);

/*
 * The impact line that follows a record: its own JSON object
 * {"type":"impact",...} (or an indented text line) naming the record by dev,
 * sector and time_ns.  Lookups are coalesced (a range seen before is
 * answered from a bounded table) and rate-bounded; a record whose lookup
 * was skipped says so ("skipped":true), and the count is in every line.
 */
void identity_print_impact(struct identity *id, FILE *f, const struct block_notification *n,
			   bool json);

#endif
