#!/usr/bin/perl
# Print one JSON line per email file as Sisimai (Debian's libsisimai-perl, 4.25 API:
# Sisimai->make; 5.x: Sisimai->rise) reads it, in the shape `bouncewatch parse --json` prints:
#   {"file": FILE, "recipients": [{"address", "status", "reply_code", "reason", "action",
#                                  "diagnostic", "feedback_type"}]}
# Usage: perl benchmarks/sisimai_json.pl FILE...
use strict;
use warnings;
use JSON::PP;
use Sisimai;

my $json = JSON::PP->new->canonical(1);
my $rise = Sisimai->can('rise');
binmode STDOUT, ':raw';
for my $file (@ARGV) {
    my $list = eval {
        $rise ? Sisimai->rise($file, 'delivered' => 1, 'vacation' => 1)
              : Sisimai->make($file, 'delivered' => 1)
    } || [];
    my @rcpts;
    for my $d (@$list) {
        my $r = $d->recipient;
        push @rcpts, {
            'address'       => lc(ref $r ? $r->address : ($r // '')),
            'status'        => $d->deliverystatus // '',
            'reply_code'    => '' . ($d->replycode // ''),
            'reason'        => $d->reason // '',
            'action'        => $d->action // '',
            'diagnostic'    => $d->diagnosticcode // '',
            'feedback_type' => $d->feedbacktype // '',
        };
    }
    print $json->encode({ 'file' => $file, 'recipients' => \@rcpts }), "\n";
}
