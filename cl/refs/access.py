"""The permission database (`access.db`, beside `repo.db`): users, their
hashed passwords and tokens, groups and their members, who owns each
bundle and worksheet ref, the group permissions on them, and the objects
each user has proven to hold by uploading them.

It is source of truth, kept in its own file so that nothing that rebuilds
the index (`cl reindex`) can touch it.  This module only stores and
fetches; what the rows mean (password hashing, who may read what) is
cl/auth's."""

import os

from cl.refs.db import Database

FILENAME = "access.db"

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, password TEXT NOT NULL,"
    " root INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS tokens (digest TEXT PRIMARY KEY, user TEXT NOT NULL,"
    " created INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS groups (name TEXT PRIMARY KEY, owner TEXT)",
    "CREATE TABLE IF NOT EXISTS members (grp TEXT NOT NULL, user TEXT NOT NULL,"
    " admin INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (grp, user))",
    "CREATE TABLE IF NOT EXISTS owners (ref TEXT PRIMARY KEY, user TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS perms (ref TEXT NOT NULL, grp TEXT NOT NULL,"
    " level INTEGER NOT NULL, PRIMARY KEY (ref, grp))",
    "CREATE TABLE IF NOT EXISTS proven (user TEXT NOT NULL, id TEXT NOT NULL,"
    " PRIMARY KEY (user, id)) WITHOUT ROWID",
)


class AccessStore:
    """Rows of the permission database of the repository at `root`."""

    def __init__(self, root: str):
        self.db = Database(os.path.join(root, FILENAME))
        with self.db.transaction() as conn:
            for statement in SCHEMA:
                conn.execute(statement)

    def close(self) -> None:
        self.db.close()

    def _rows(self, sql: str, args=()) -> list[tuple]:
        return self.db.execute(sql, args).fetchall()

    # --- users and tokens ----------------------------------------------------

    def user(self, name: str) -> tuple[str, str, bool] | None:
        """(name, password hash, root) of a user, or None."""
        rows = self._rows("SELECT name, password, root FROM users WHERE name = ?", (name,))
        return (rows[0][0], rows[0][1], bool(rows[0][2])) if rows else None

    def users(self) -> list[tuple[str, bool, int]]:
        """(name, root, created ns) of every user, by name."""
        return [(n, bool(r), c) for n, r, c in
                self._rows("SELECT name, root, created FROM users ORDER BY name")]

    def add_user(self, name: str, password: str, root: bool, created: int) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO users (name, password, root, created) VALUES (?, ?, ?, ?)",
                         (name, password, int(root), created))

    def set_password(self, name: str, password: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE users SET password = ? WHERE name = ?", (password, name))

    def remove_user(self, name: str) -> None:
        """The user, their tokens, memberships and proofs; what they own
        stays owned by the name (an admin re-assigns it with chown)."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM users WHERE name = ?", (name,))
            conn.execute("DELETE FROM tokens WHERE user = ?", (name,))
            conn.execute("DELETE FROM members WHERE user = ?", (name,))
            conn.execute("DELETE FROM proven WHERE user = ?", (name,))

    def add_token(self, digest: str, user: str, created: int) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO tokens (digest, user, created) VALUES (?, ?, ?)",
                         (digest, user, created))

    def token_user(self, digest: str) -> str | None:
        rows = self._rows("SELECT user FROM tokens WHERE digest = ?", (digest,))
        return rows[0][0] if rows else None

    def tokens(self) -> list[tuple[str, str, int]]:
        """(digest, user, created ns) of every token, oldest first."""
        return [(d, u, c) for d, u, c in
                self._rows("SELECT digest, user, created FROM tokens ORDER BY created, digest")]

    def remove_tokens(self, digests: list[str]) -> int:
        """Forget tokens by digest; how many there were."""
        with self.db.transaction() as conn:
            return sum(conn.execute("DELETE FROM tokens WHERE digest = ?", (d,)).rowcount for d in digests)

    def token_count(self, user: str | None = None) -> int:
        if user is None:
            return self._rows("SELECT count(*) FROM tokens")[0][0]
        return self._rows("SELECT count(*) FROM tokens WHERE user = ?", (user,))[0][0]

    # --- groups ----------------------------------------------------------------

    def group(self, name: str) -> tuple[str, str | None] | None:
        rows = self._rows("SELECT name, owner FROM groups WHERE name = ?", (name,))
        return (rows[0][0], rows[0][1]) if rows else None

    def groups(self) -> list[tuple[str, str | None]]:
        return [(n, o) for n, o in self._rows("SELECT name, owner FROM groups ORDER BY name")]

    def add_group(self, name: str, owner: str | None) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO groups (name, owner) VALUES (?, ?)", (name, owner))

    def remove_group(self, name: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM groups WHERE name = ?", (name,))
            conn.execute("DELETE FROM members WHERE grp = ?", (name,))
            conn.execute("DELETE FROM perms WHERE grp = ?", (name,))

    def members(self, group: str) -> list[tuple[str, bool]]:
        """(user, is admin) of a group's members, by name."""
        return [(u, bool(a)) for u, a in self._rows(
            "SELECT user, admin FROM members WHERE grp = ? ORDER BY user", (group,))]

    def memberships(self, user: str) -> list[tuple[str, bool]]:
        """(group, is admin) of the groups a user is in."""
        return [(g, bool(a)) for g, a in self._rows(
            "SELECT grp, admin FROM members WHERE user = ? ORDER BY grp", (user,))]

    def set_member(self, group: str, user: str, admin: bool) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO members (grp, user, admin) VALUES (?, ?, ?)",
                         (group, user, int(admin)))

    def remove_member(self, group: str, user: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM members WHERE grp = ? AND user = ?", (group, user))

    # --- owners and permissions of refs ---------------------------------------

    def owner(self, ref: str) -> str | None:
        rows = self._rows("SELECT user FROM owners WHERE ref = ?", (ref,))
        return rows[0][0] if rows else None

    def set_owner(self, ref: str, user: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO owners (ref, user) VALUES (?, ?)", (ref, user))

    def claim(self, ref: str, user: str) -> None:
        """Record `user` as the owner of `ref` unless it has one already."""
        with self.db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO owners (ref, user) VALUES (?, ?)", (ref, user))

    def perms(self, ref: str) -> dict[str, int]:
        """group -> level (1 read, 2 all) on a ref."""
        return dict(self._rows("SELECT grp, level FROM perms WHERE ref = ?", (ref,)))

    def set_perm(self, ref: str, group: str, level: int) -> None:
        """Level 0 removes the group's permission."""
        with self.db.transaction() as conn:
            if level:
                conn.execute("INSERT OR REPLACE INTO perms (ref, grp, level) VALUES (?, ?, ?)",
                             (ref, group, level))
            else:
                conn.execute("DELETE FROM perms WHERE ref = ? AND grp = ?", (ref, group))

    def granted(self, groups: list[str]) -> dict[str, int]:
        """ref -> the highest level any of `groups` has on it."""
        out: dict[str, int] = {}
        for group in groups:
            for ref, level in self._rows("SELECT ref, level FROM perms WHERE grp = ?", (group,)):
                out[ref] = max(level, out.get(ref, 0))
        return out

    def owned(self, user: str) -> list[str]:
        return [r for (r,) in self._rows("SELECT ref FROM owners WHERE user = ?", (user,))]

    # --- objects proven by upload ---------------------------------------------

    def prove(self, user: str, ids: list[str]) -> None:
        with self.db.transaction() as conn:
            conn.executemany("INSERT OR IGNORE INTO proven (user, id) VALUES (?, ?)",
                             [(user, i) for i in ids])

    def proven(self, user: str, ids: list[str]) -> set[str]:
        """Those of `ids` that `user` has uploaded."""
        out: set[str] = set()
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            marks = ",".join("?" * len(part))
            out.update(i for (i,) in self._rows(
                f"SELECT id FROM proven WHERE user = ? AND id IN ({marks})", (user, *part)))
        return out
