"""`cl cat` of a symbolic link inside a bundle prints ` -> TARGET`, as
CodaLab's does (issue 15); the link is never followed."""

from tests.conftest import Link, tree


def test_cat_of_a_link_prints_its_target(project, cl):
    tree(project, {"d": {"a.txt": "alpha\n", "rel": Link("a.txt"), "abs": Link("/etc/hostname"),
                         "dangling": Link("../nowhere")}})
    cl(["upload", "d"], project)
    assert cl(["cat", "d/rel"], project).stdout == " -> a.txt\n"
    assert cl(["cat", "d/abs"], project).stdout == " -> /etc/hostname\n"
    assert cl(["cat", "d/dangling"], project).stdout == " -> ../nowhere\n"
    assert cl(["cat", "d/a.txt"], project).stdout == "alpha\n"
