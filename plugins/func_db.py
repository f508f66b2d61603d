"""
func_db: the astdb from the dialplan.

    ${DB(family/key)}          the value, '' when absent
    Set(DB(family/key)=value)  store a value
    ${DB_EXISTS(family/key)}   1 or 0; sets DB_RESULT to the value
    ${DB_DELETE(family/key)}   the value, and removes the key
    ${DB_KEYS(prefix)}         the names one level below prefix, comma-separated
"""

from twisted.logger import Logger
from zope.interface import implementer

from pbxcore.api import Module, ReadOnly
from pbxcore.store.astdb import parseFamilyKey
from pbxcore.interfaces import IDialplanFunction


class _DBFunction(ReadOnly):
    log = Logger()

    def __init__(self, pbx):
        self.pbx = pbx

    def _db(self):
        db = getattr(self.pbx, "astdb", None)
        if db is None:
            self.log.warn("{name}: no astdb is available", name=self.name)
        return db

    def _familyKey(self, args):
        try:
            return parseFamilyKey(args)
        except ValueError:
            self.log.warn("{name} requires an argument, {name}(<family>/<key>), got {args!r}",
                          name=self.name, args=args)
            return None

    def _lookup(self, args):
        """(family, key, value or None) of C{args}; None when there is no astdb or no key."""
        db, fk = self._db(), self._familyKey(args)
        if db is None or fk is None:
            return None
        return fk[0], fk[1], db.get(*fk)


@implementer(IDialplanFunction)
class DBFunction(_DBFunction):
    name = "DB"
    synopsis = "Read from or write to the Asterisk database."

    def read(self, channel, args):
        found = self._lookup(args)
        if found is None:
            return ""
        family, key, value = found
        if value is None:
            self.log.debug("DB: {family}/{key} not found in database", family=family, key=key)
            return ""
        return value

    def write(self, channel, args, value):
        db, fk = self._db(), self._familyKey(args)
        if db is None or fk is None:
            return
        db.put(fk[0], fk[1], value if value is not None else "")


@implementer(IDialplanFunction)
class DBExistsFunction(_DBFunction):
    name = "DB_EXISTS"
    synopsis = "Check to see if a key exists in the Asterisk database."

    def read(self, channel, args):
        found = self._lookup(args)
        if found is None:
            return ""
        value = found[2]
        if value is None:
            return "0"
        if channel is not None:
            channel.setVariable("DB_RESULT", value)
        return "1"


@implementer(IDialplanFunction)
class DBDeleteFunction(_DBFunction):
    name = "DB_DELETE"
    synopsis = "Return a value from the database and delete it."

    def read(self, channel, args):
        db, fk = self._db(), self._familyKey(args)
        if db is None or fk is None:
            return ""
        value = db.get(*fk)
        if value is None:
            self.log.debug("DB_DELETE: {family}/{key} not found in database",
                           family=fk[0], key=fk[1])
            return ""
        db.delete(*fk)
        return value


@implementer(IDialplanFunction)
class DBKeysFunction(_DBFunction):
    name = "DB_KEYS"
    synopsis = "Obtain a list of keys within the Asterisk database."

    def read(self, channel, args):
        db = self._db()
        if db is None:
            return ""
        return ",".join(db.keys((args or "").strip().strip("/")))


class FuncDBModule(Module):
    def load(self, pbx, registrar):
        for cls in (DBFunction, DBExistsFunction, DBDeleteFunction, DBKeysFunction):
            registrar.register("function", cls(pbx))
