// Every entry of @tcc/client, so that tsconfig.library.json checks all of its declarations with skipLibCheck false.
import * as client from '@tcc/client';
import * as caller from '@tcc/client/caller';
import * as protocol from '@tcc/client/protocol';
import * as sql from '@tcc/client/sql';
import * as testing from '@tcc/client/testing';

export const entries = [client, caller, protocol, sql, testing];
