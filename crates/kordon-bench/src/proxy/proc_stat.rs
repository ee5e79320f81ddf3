//! The fields of a `/proc/<pid>/stat` line (proc(5)). Field 2, the command name, is in
//! parentheses and may itself hold spaces and parentheses, so the fields after it are counted
//! from the line's last ')'.

/// One stat line's fields from field 3 (`state`) on.
pub struct StatLine<'a> {
    after_comm: Vec<&'a str>,
}

impl<'a> StatLine<'a> {
    /// `None` when the line has no command name in parentheses.
    pub fn parse(line: &'a str) -> Option<StatLine<'a>> {
        let (_, rest) = line.rsplit_once(')')?;
        Some(StatLine {
            after_comm: rest.split_whitespace().collect(),
        })
    }

    /// Field `number` as proc(5) numbers them (from 1); fields 1 and 2 are not kept.
    fn field(&self, number: usize) -> Option<&'a str> {
        self.after_comm.get(number.checked_sub(3)?).copied()
    }

    fn number(&self, number: usize) -> Option<u64> {
        self.field(number)?.parse().ok()
    }

    /// Field 5, `pgrp`.
    pub fn process_group(&self) -> Option<u32> {
        self.field(5)?.parse().ok()
    }

    /// Field 3 (`state`) is `Z`: ended, waiting for its parent to reap it; it holds no memory
    /// and cannot be signalled.
    pub fn is_zombie(&self) -> bool {
        self.field(3) == Some("Z")
    }

    /// Clock ticks of CPU the process used: its own user and system time (fields 14 and 15,
    /// all its threads), plus that of its children it has reaped (16 and 17). The children's
    /// part keeps a forking proxy's sum whole: a dante child that ends during a measurement
    /// leaves the group, and its time reappears in its parent's fields 16 and 17.
    pub fn cpu_ticks(&self) -> Option<u64> {
        [14, 15, 16, 17]
            .into_iter()
            .map(|field| self.number(field))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real line's shape (`cat /proc/self/stat`), with a command name made to mislead.
    const ODD_NAME: &str = "4242 (a (b) c) S 1 4240 4240 0 -1 4194560 100 0 0 0 \
                            250 75 12 3 20 0 1 0 12345 1000000 200";

    #[test]
    fn reads_fields_past_a_command_name_with_spaces_and_parentheses() {
        let stat = StatLine::parse(ODD_NAME).unwrap();
        assert_eq!(stat.process_group(), Some(4240));
        assert!(!stat.is_zombie());
        assert_eq!(stat.cpu_ticks(), Some(250 + 75 + 12 + 3));
    }

    #[test]
    fn tells_zombies_and_refuses_short_or_nameless_lines() {
        let zombie = StatLine::parse("4243 (x) y) Z 1 4240 4240 0").unwrap();
        assert!(zombie.is_zombie());
        assert_eq!(zombie.process_group(), Some(4240));
        // Ends before field 14.
        assert_eq!(zombie.cpu_ticks(), None);
        assert!(StatLine::parse("4244 no name S 1 4240").is_none());
        let garbled = ODD_NAME.replace(" 250 ", " 2x0 ");
        assert_eq!(StatLine::parse(&garbled).unwrap().cpu_ticks(), None);
    }

    #[test]
    fn reads_this_process() {
        let line = std::fs::read_to_string("/proc/self/stat").unwrap();
        let stat = StatLine::parse(&line).unwrap();
        assert_eq!(
            stat.process_group(),
            Some(nix::unistd::getpgrp().as_raw() as u32)
        );
        assert!(stat.cpu_ticks().is_some());
    }
}
