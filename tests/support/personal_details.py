"""The corpus of personal-detail formats members type, each in a real question.

Every entry is (message, secrets): the secrets are the parts that must never
reach the tracker store, a log or a reply, written long enough not to turn up
by chance. Used by tests/channels (the text rules alone) and tests/e2e (the
real servers, SQLite and Postgres, REST and socket.io).
"""

from typing import List, Tuple

Case = Tuple[str, List[str]]

CORPUS: List[Case] = [
    # Member IDs and group numbers.
    ("my member id is XOF839201557, does my texas hmo cover massage at a spa?", ["839201557"]),
    ("member ID: XOF 8392 0155 7 is massage covered", ["8392 0155", "83920155"]),
    ("my id is ZGH 4471 9920, do I need a referral for massage?", ["4471 9920", "44719920"]),
    ("subscriber number 883920117 - is massage therapy covered?", ["883920117"]),
    ("policy # QAT47719302 does it cover massage", ["47719302"]),
    ("card number 4471-8830-2291 massage covered?", ["4471-8830-2291", "8830"]),
    ("my group number is GRP7719A, do I need prior authorization?", ["GRP7719A", "7719"]),
    ("group no. 0XK88127 massage therapy coverage", ["0XK88127", "88127"]),
    ("group # A12B34C9 is out of network massage covered", ["A12B34C9"]),
    ("HCSC id YTX902217731 massage", ["902217731"]),
    ("member id xof 3390 2218 does my plan cover massage", ["3390 2218", "33902218"]),
    ("id: TXB-4471-99201 is massage covered", ["4471-99201", "99201"]),
    # Medicare MBIs.
    ("my medicare number is 1EG4-TE5-MK73, is massage covered?", ["1EG4-TE5-MK73", "1EG4TE5MK73"]),
    ("MBI 2AB9CD7EF88 does medicare cover massage", ["2AB9CD7EF88"]),
    ("is massage covered? 7QR3-XY2-ZW55", ["7QR3-XY2-ZW55", "7QR3"]),
    ("my mbi: 5kp2hj4mn61 massage therapy", ["5kp2hj4mn61"]),
    # SSNs, with every separator and with look-alike characters.
    ("SSN 518-47-2963 - do i need a referral for massage therapy?", ["518-47-2963", "518472963"]),
    ("my social is 518 47 2963 is massage covered", ["518 47 2963"]),
    ("ssn: 518472963 massage coverage", ["518472963"]),
    ("social security number 518.47.2963 do I need a referral", ["518.47.2963"]),
    ("my ssn is 518\u201347\u20132963, is massage covered?", ["518\u201347\u20132963", "2963"]),
    ("ssn 518\u200b-47\u200b-2963 massage", ["518\u200b-47\u200b-2963", "2963"]),
    ("518\u221247\u22122963 is my social", ["2963"]),
    (
        "ssn \uff15\uff11\uff18-\uff14\uff17-\uff12\uff19\uff16\uff13 massage",
        ["\uff12\uff19\uff16\uff13", "2963"],
    ),
    # Birth dates.
    ("does massage therapy need prior authorization? I was born 04/17/1961", ["04/17/1961", "1961"]),
    ("my dob is March 3, 1975 and I want to know about referrals", ["March 3, 1975", "1975"]),
    ("dob 1980-01-02 is massage covered", ["1980-01-02"]),
    ("born 4/12 and need to know about massage", ["4/12"]),
    ("I was born in March 1975, does my plan cover massage?", ["March 1975", "1975"]),
    ("born March third 1975, is massage at a spa covered?", ["March third", "1975"]),
    ("born on the 3rd of March 1975 massage coverage", ["3rd of March", "1975"]),
    ("my birthday is 12.05.1958 is massage covered", ["12.05.1958", "1958"]),
    ("date of birth: 17 Apr 1961, massage for back pain", ["17 Apr", "1961"]),
    ("d.o.b. 7/4/62 massage", ["7/4/62"]),
    ("birthdate sept 9th, 1949 do i need a referral", ["sept 9th", "1949"]),
    ("born in 1948 is massage covered", ["1948"]),
    ("I turned 60 on July twenty-first 1965, is massage covered?", ["twenty-first", "1965"]),
    # Phone numbers.
    ("my phone is (312) 555-0187, is massage covered?", ["555-0187", "3125550187"]),
    ("call me at 214.555.0199 about massage", ["214.555.0199", "5550199"]),
    ("2145550199 is my cell, do I need a referral", ["2145550199"]),
    ("text +1 469 555 0143 about out of network massage", ["555 0143", "4695550143"]),
    ("my number is 1-800-555-0172 ext 44, is massage covered?", ["555-0172"]),
    ("phone 312\u2013555\u20130187 massage", ["312\u2013555\u20130187", "0187"]),
    ("call 312\u200b555\u200b0187 please, is massage covered", ["0187"]),
    ("my uk mobile is +44 20 7946 0958, is massage covered abroad?", ["7946 0958", "79460958"]),
    ("german number +49 30 901820 massage", ["901820"]),
    ("call 0044 20 7946 0958 about massage", ["7946 0958"]),
    ("mexico +52 55 1234 5678 massage therapy", ["1234 5678", "12345678"]),
    ("+33 1 42 68 53 00 is my french number", ["42 68 53 00", "42685300"]),
    # Email addresses, also written out.
    ("email jane.r.doe@example.org: is out of network massage covered?", ["jane.r.doe"]),
    ("my email is jdoe_77@mailhost.net do I need a referral", ["jdoe_77", "mailhost"]),
    ("reach me at jane dot doe at example dot com about massage", ["example dot com", "jane dot doe"]),
    ("write to marta at correo dot com, massage covered?", ["marta at correo"]),
    ("jrivera(at)examplemail is my email, massage?", ["jrivera", "examplemail"]),
    ("mail kwong [at] example [dot] org about referrals", ["kwong", "example [dot]"]),
    ("JANE.DOE+HCSC@EXAMPLE.CO.UK massage coverage", ["JANE.DOE", "EXAMPLE.CO.UK"]),
    # Names.
    ("my name is Jane Doe and I need a referral for massage", ["Jane Doe"]),
    ("my name is marcus okafor, is massage covered?", ["marcus okafor", "okafor"]),
    ("Hi, I am Priya Raman. Is massage at a spa covered?", ["Priya Raman", "Raman"]),
    ("This is Roberto Alvarez Gomez, do I need prior authorization?", ["Alvarez", "Roberto"]),
    ("I'm Keisha Washington and I have a texas ppo", ["Keisha", "Washington"]),
    ("me llamo Lucia Fernandez, is massage covered?", ["Lucia Fernandez", "Fernandez"]),
    ("name: Tomasz Kowalczyk massage therapy coverage", ["Kowalczyk"]),
    ("I am Dr. Lee-Whitfield, does my plan cover massage?", ["Lee-Whitfield", "Whitfield"]),
    ("this is Maria Garcia from Tulsa, do I need a referral?", ["Maria Garcia", "Garcia"]),
    ("member Maria Lopez wants to know if massage in PT is covered", ["Maria Lopez", "Lopez"]),
    ("my husband Tomas Okonkwo needs a referral for massage, texas hmo", ["Okonkwo", "Tomas"]),
    ("my name\u2019s John O\u2019Neil, is massage at a spa covered?", ["O\u2019Neil", "O'Neil"]),
    ("I\u2019m Marisol, is massage covered for back pain?", ["Marisol"]),
    ("Mrs. Abernathy here: is out of network massage covered?", ["Abernathy"]),
    ("This is Juan de la Cruz Villanueva, is massage covered?", ["Villanueva", "de la Cruz"]),
    (
        "I am Ana Mar\u00eda P\u00e9rez-L\u00f3pez and I have a texas hmo",
        ["P\u00e9rez-L\u00f3pez", "Ana Mar\u00eda"],
    ),
    ("my doctor, Dr. Okonkwo, says I need massage therapy", ["Okonkwo"]),
    # Street addresses.
    ("I live at 1200 N Lakeshore Drive Apt 4B, is massage covered?", ["1200 N Lakeshore", "Lakeshore"]),
    ("mail goes to 88 Quarry Hill Dr. Unit 7, do I need a referral?", ["Quarry Hill", "88 Quarry"]),
    ("my address is 45 West Elm Avenue, do I need a referral?", ["45 West Elm", "West Elm"]),
    ("send it to 7731 Cedar Hollow Rd. massage", ["7731 Cedar", "Cedar Hollow"]),
    ("PO Box 44127 is my mailing address, massage?", ["44127"]),
    ("3301 Quintana Blvd suite 210 massage therapy", ["3301 Quintana", "Quintana"]),
    # Several details in one message.
    (
        "my member id is XYZ123456789 and dob 4/12/1980, is massage covered?",
        ["123456789", "4/12/1980"],
    ),
    (
        "jane.r.doe@example.org 312-555-0187 518-47-2963 born 1/2/1970 massage",
        ["jane.r.doe", "555-0187", "518-47-2963", "1/2/1970"],
    ),
]
