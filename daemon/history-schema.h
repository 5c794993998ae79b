/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The history's tables at schema version 1 (history.h): made by blknotifyd
 * (history.c), and by blknotify-history(1) in memory for the rows it gets
 * through the daemon, so that one set of queries serves both.
 */
#ifndef BLKNOTIFY_HISTORY_SCHEMA_H
#define BLKNOTIFY_HISTORY_SCHEMA_H

/*
 * events: one row per record (kind 0) or loss (kind 1); the columns a
 * record's length does not cover are NULL.  disks: each disk's identity
 * once, as it was when its first row was made.
 */
#define HISTORY_SCHEMA_V1_TABLES \
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;" \
	"CREATE TABLE disks(id INTEGER PRIMARY KEY, dev INTEGER NOT NULL, diskseq INTEGER NOT NULL," \
	" name TEXT, serial TEXT, wwn TEXT, by_id TEXT, model TEXT, first_time INTEGER);" \
	"CREATE INDEX disks_dev ON disks(dev, diskseq);" \
	"CREATE TABLE events(id INTEGER PRIMARY KEY, time INTEGER NOT NULL, kind INTEGER NOT NULL," \
	" disk INTEGER, dev INTEGER, source INTEGER, watch INTEGER, subtype INTEGER, op INTEGER," \
	" flags INTEGER, sector INTEGER, nr_sectors INTEGER, error INTEGER, mono INTEGER," \
	" retries INTEGER, transport INTEGER, detail INTEGER, status INTEGER, command_id INTEGER," \
	" sense_key INTEGER, asc INTEGER, ascq INTEGER, opcode INTEGER, device_lba INTEGER," \
	" value INTEGER, lost INTEGER, reason INTEGER);"

#endif /* BLKNOTIFY_HISTORY_SCHEMA_H */
